// The 模范机关考评 tab of WPS Spreadsheets: one function per ribbon button (the names are the Excel
// ribbon's callbacks). Scoring happens in the local service (`xlpipeline web`); this file only asks it
// and writes what it answers into the open workbook through WPS's object model, as the Excel add-in
// does through Excel's: text behind an apostrophe, never over a formula, screen updating off meanwhile.
// XLP (config.js, written by `xlpipeline wps install`) holds the service's port and the link's token.
"use strict";

const XLP_WAIT = 60000;  // ms: a stalled service ends in a message, never a hung button
const MARK_COLOUR = 206 * 65536 + 199 * 256 + 255;  // light red (BGR), as the Excel button marks
const NOT_RUNNING = "连接不到“模范机关考评”本机服务：请双击桌面上的“模范机关考评”图标"
  + "（或在终端运行 xlpipeline web）启动它，再点按钮。";

function app() {
  return window.Application || (window.wps && window.wps.EtApplication && window.wps.EtApplication());
}

function say(text) {
  window.alert(text);
}

// The active workbook, saved, when the buttons can work on it; else a message and null.
function workbookReady(notes) {
  const book = app() && app().ActiveWorkbook;
  if (!book) {
    say("没有打开的工作簿：请先打开考评工作簿，再点按钮");
    return null;
  }
  if (!book.Path) {
    say("工作簿“" + book.Name + "”还没有保存：请先保存到一个文件夹（生成的文件放在它旁边），再点按钮");
    return null;
  }
  if (book.ReadOnly) {
    say("工作簿“" + book.Name + "”是以只读方式打开的：请关闭后重新打开（或另存一份），再点按钮");
    return null;
  }
  if (!book.Saved) {  // the service reads the saved file: save the edits first
    book.Save();
    notes.push("已先保存“" + book.Name + "”。");
  }
  return book;
}

async function ask(path, body) {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), XLP_WAIT);
  let answer;
  try {
    answer = await fetch("http://127.0.0.1:" + XLP.port + path, {
      method: "POST", signal: stop.signal, body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-Xlpipeline-Token": XLP.token},
    });
  } catch (error) {
    throw new Error(NOT_RUNNING);
  } finally {
    clearTimeout(timer);
  }
  if (answer.status === 403) {
    throw new Error("本机服务拒绝了 WPS 加载项的访问令牌：请重新运行 xlpipeline wps install，再重启 WPS。");
  }
  try {
    return await answer.json();
  } catch (error) {
    throw new Error(NOT_RUNNING);
  }
}

function listed(errors) {
  const shown = errors.slice(0, 20).map((e) => (e.sheet ? e.sheet + "!" + e.ref + ": " : "") + e.message);
  return shown.join("\n") + (errors.length > 20 ? "\n……共 " + errors.length + " 处" : "");
}

// Every value edit whose cell holds a formula: refused before anything is written.
function formulaCells(book, edits) {
  return edits.filter((e) => e.formula === undefined
    && book.Worksheets.Item(e.sheet).Range(e.ref).HasFormula).map((e) => e.sheet + "!" + e.ref);
}

function write(book, plan) {
  const application = app();
  const updating = application.ScreenUpdating;
  application.ScreenUpdating = false;
  try {
    for (const h of plan.heights) {
      refusing(h.sheet, "A" + h.row, () => {
        const row = book.Worksheets.Item(h.sheet).Range("A" + h.row);
        if ((row.RowHeight || 0) < h.height) row.RowHeight = h.height;
      });
    }
    for (const e of plan.edits) {
      if (e.formula !== undefined) continue;  // our live formula is in place: WPS computes it
      refusing(e.sheet, e.ref, () => {
        const cell = book.Worksheets.Item(e.sheet).Range(e.ref);
        if (e.text !== undefined) cell.Value2 = "'" + e.text;  // this very text: never a formula or number
        else if (e.number !== undefined) cell.Value2 = Number(e.number);
        else if (e.date !== undefined) cell.Value2 = serialDay(e.date);  // the cell's date format shows it
        else cell.Value2 = "";
      });
    }
  } finally {
    application.ScreenUpdating = updating;
  }
}

// A date as spreadsheets hold it: days since 1899-12-30 ("2026-12-02" → 46358).
function serialDay(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return (Date.UTC(y, m - 1, d) - Date.UTC(1899, 11, 30)) / 86400000;
}

// One write; WPS refusing it (a protected sheet) is a message naming the cell.
function refusing(sheet, ref, action) {
  try {
    action();
  } catch (error) {
    throw new Error(sheet + "!" + ref + ": WPS 拒绝写入（工作表是否受保护？请撤销保护后再运行）：" + error.message);
  }
}

function mark(book, errors) {
  const bySheet = {};
  for (const e of errors) {
    if (e.sheet) (bySheet[e.sheet] = bySheet[e.sheet] || []).push(e.ref);
  }
  for (const [name, refs] of Object.entries(bySheet)) {
    const sheet = book.Worksheets.Item(name);
    for (const ref of refs) sheet.Range(ref).Interior.Color = MARK_COLOUR;
    sheet.Activate();
    sheet.Range(refs.slice(0, 30).join(",")).Select();
  }
}

// The active workbook (saved) and the service's scoring of it; null, said, when either cannot be had.
async function scored(notes) {
  const book = workbookReady(notes);
  if (!book) return null;
  try {
    return {book: book, plan: await ask("/api/wps/score", {path: book.FullName})};
  } catch (error) {
    say(error.message);
    return null;
  }
}

// 重新计算: score the saved workbook and write the results into the open one.
async function XlpRecalculate() {
  const notes = [];
  const found = await scored(notes);
  if (!found) return false;
  const {book, plan} = found;
  if (!plan.ok) {
    say(notes.concat([plan.message, plan.errors ? listed(plan.errors) : ""]).join("\n"));
    return false;
  }
  const refused = formulaCells(book, plan.edits);
  if (refused.length) {
    say(refused[0] + ": 是公式单元格，程序不会覆盖公式；请清除该单元格的公式");
    return false;
  }
  try {
    write(book, plan);
  } catch (error) {
    say(error.message);
    return false;
  }
  say(notes.concat(["总分 " + plan.total + "（加分 " + plan.bonus + "）"],
    plan.warnings.map((w) => "提示：" + w)).join("\n"));
  return true;
}

// 校验台账: colour and select the cells with mistakes, and list them.
async function XlpCheckLog() {
  const notes = [];
  const found = await scored(notes);
  if (!found) return false;
  const {book, plan} = found;
  if (plan.errors) {
    mark(book, plan.errors);
    say(notes.concat(["台账有 " + plan.errors.length + " 处问题：", listed(plan.errors)]).join("\n"));
  } else {
    say(notes.concat([plan.ok ? "台账没有发现问题。" : plan.message]).join("\n"));
  }
  return true;
}

// A page of the local service in WPS's task pane, with this workbook chosen.
async function openPane(to, by) {
  const notes = [];
  const book = workbookReady(notes);
  if (!book) return false;
  try {
    await ask("/api/wps/ping", {});
  } catch (error) {
    say(error.message);
    return false;
  }
  const url = "http://127.0.0.1:" + XLP.port + "/wps/open?to=" + to + "&token=" + encodeURIComponent(XLP.token)
    + "&path=" + encodeURIComponent(book.FullName) + (by ? "&by=" + encodeURIComponent(by) : "");
  const pane = app().CreateTaskPane(url);
  pane.Visible = true;
  return true;
}

function XlpSubmit() { return openPane("generate"); }
function XlpBatchByDepartment() { return openPane("generate", "责任科室"); }
function XlpBatchByLeader() { return openPane("generate", "责任领导"); }
function XlpBatchByAssessor() { return openPane("generate", "考评单位"); }
function XlpBatchByIndicator() { return openPane("generate", "考评指标"); }
function XlpSendToAssessors() { return openPane("send"); }

function OnAddinLoad(ribbonUI) {
  if (app() && typeof app().ribbonUI !== "object") app().ribbonUI = ribbonUI;
  return true;
}
