// A stand-in of WPS Spreadsheets' JavaScript object model (window.Application), for the parts the
// 模范机关考评 add-in uses, behaving as WPS documents them (after Excel's object model): ActiveWorkbook
// (null when none; Name, FullName, Path "" until saved, Saved, ReadOnly, Save()), Worksheets.Item(name),
// Range(ref) with Value2 (a typed text that looks like a number becomes one, "=…" becomes a formula,
// a leading apostrophe keeps the rest as text), Formula, HasFormula, Interior.Color, RowHeight,
// Select(), Activate(), a protected sheet refusing writes, ScreenUpdating and CreateTaskPane(url).
// `standin.load(model)` sets the workbook; `standin.state()` tells the test what happened.
"use strict";
(function () {
  let book = null;
  const log = {alerts: [], saves: 0, panes: [], selection: null, active: null, updating: []};

  function asEntered(value) {
    if (typeof value !== "string") return {value: value, formula: null};
    if (value.startsWith("'")) return {value: value.slice(1), formula: null};
    if (value.startsWith("=")) return {value: null, formula: value};
    if (value.trim() !== "" && !isNaN(Number(value))) return {value: Number(value), formula: null};
    return {value: value === "" ? null : value, formula: null};
  }

  class Range {
    constructor(sheet, ref) {
      this.sheet = sheet;
      this.refs = ref.split(",");
    }
    cell(ref) {  // for writing: made where missing
      return this.sheet.cells[ref] || (this.sheet.cells[ref] = {value: null, formula: null});
    }
    peek(ref) {  // for reading: an empty cell stays absent
      return this.sheet.cells[ref] || {value: null, formula: null};
    }
    get Value2() { return this.peek(this.refs[0]).value; }
    set Value2(value) {
      if (this.sheet.protected) throw new Error("不能更改受保护的工作表中的单元格");
      for (const ref of this.refs) Object.assign(this.cell(ref), asEntered(value));
      book.Saved = false;
    }
    get Formula() { const c = this.peek(this.refs[0]); return c.formula || (c.value === null ? "" : String(c.value)); }
    get HasFormula() { return this.peek(this.refs[0]).formula !== null; }
    get Interior() {
      const range = this;
      return {set Color(colour) { for (const ref of range.refs) range.cell(ref).colour = colour; }};
    }
    get RowHeight() { return this.sheet.heights[this.row()] || 14.25; }
    set RowHeight(height) {
      if (this.sheet.protected) throw new Error("不能更改受保护的工作表");
      this.sheet.heights[this.row()] = height;
    }
    row() { return Number(this.refs[0].replace(/^[A-Z]+/, "")); }
    Select() { log.selection = {sheet: this.sheet.name, refs: this.refs}; }
  }

  class Sheet {
    constructor(name, cells, isProtected) {
      this.name = name;
      this.cells = cells;
      this.protected = isProtected;
      this.heights = {};
    }
    Range(ref) { return new Range(this, ref); }
    Activate() { log.active = this.name; }
  }

  const application = {
    get ActiveWorkbook() { return book; },
    _updating: true,
    get ScreenUpdating() { return this._updating; },
    set ScreenUpdating(on) { this._updating = on; log.updating.push(on); },
    CreateTaskPane(url) { const pane = {url: url, Visible: false}; log.panes.push(pane); return pane; },
  };

  window.Application = application;
  window.alert = (text) => log.alerts.push(String(text));
  window.standin = {
    // model: null (no workbook) or {name, folder, saved, readOnly, sheets: {name: {cells, protected}}}
    load(model) {
      if (!model) { book = null; return; }
      const sheets = {};
      for (const [name, sheet] of Object.entries(model.sheets)) sheets[name] = new Sheet(name, sheet.cells, !!sheet.protected);
      book = {
        Name: model.name, Path: model.folder, FullName: model.folder ? model.folder + "/" + model.name : model.name,
        Saved: model.saved !== false, ReadOnly: !!model.readOnly,
        Save() { log.saves += 1; this.Saved = true; },
        Worksheets: {Item(name) {
          if (!(name in sheets)) throw new Error("下标越界：" + name);
          return sheets[name];
        }},
        sheets: sheets,
      };
    },
    state() {
      const sheets = {};
      if (book) for (const [name, sheet] of Object.entries(book.sheets)) sheets[name] = {cells: sheet.cells, heights: sheet.heights};
      return {log: log, sheets: sheets, updating: application._updating};
    },
  };
})();
