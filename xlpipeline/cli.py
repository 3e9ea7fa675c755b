"""The `xlpipeline` command: a thin layer over the library (see `xlpipeline.pipeline`).

Exit codes: 0 done; 1 the workbook has input errors (each listed as `sheet!cell: message`), or
  `collect` left some inputs out of the roll-up (each listed with the reason);
2 usage or file errors (missing file, not a workbook, a sheet missing, the file open elsewhere);
3 `send` ended with a message of the round not known to be delivered (failed now, or of unknown
  fate from this run or an earlier one); a line says what to do;
4 an unexpected error (a bug): one line says so and where the log with the traceback is.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path

from xlpipeline import __version__
from xlpipeline.scoring.engine import Results, money
from xlpipeline.workbook.book import FileBook
from xlpipeline.errors import FileProblem, UserError, bug_message
from xlpipeline.names import (ADDIN_NAME, BACKEND_NAMES, BATCH_NAME, CONFIG_NAME, GROUPINGS, INDEX, OUTBOX_NAME,
                              ROLLUP_NAME, SUBMIT_NAME)
from xlpipeline.resources import DEMO_WORKBOOK, ROLLUP_TEMPLATE, TEMPLATE
from xlpipeline.rules import available_years, load_rules
from xlpipeline.ooxml.locks import check_not_open
from xlpipeline.ooxml.safesave import replace_file


class _Parser(argparse.ArgumentParser):
    """argparse with Chinese section titles and usage prefix."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", help="显示帮助并退出")

    def format_usage(self):
        return super().format_usage().replace("usage:", "用法:", 1)

    def format_help(self):
        return super().format_help().replace("usage:", "用法:", 1)

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: 参数错误：{chinese(message)}\n")


# argparse's own error messages (Python 3.11–3.13 wordings), in Chinese
ARGPARSE_MESSAGES = [
    (r"the following arguments are required: (.+)", r"缺少必需的参数：\1"),
    (r"unrecognized arguments: (.+)", r"无法识别的参数：\1"),
    (r"argument (.+?): invalid choice: (.+?) \(choose from (.+)\)", r"参数 \1 的值 \2 无效，可选：\3"),
    (r"argument (.+?): invalid (\w+) value: (.+)", r"参数 \1 的值 \3 无效，应为\2"),
    (r"argument (.+?): expected one argument", r"参数 \1 后面需要一个值"),
    (r"argument (.+?): expected at least one argument", r"参数 \1 后面至少需要一个值"),
    (r"argument (.+?): expected (.+?) arguments?", r"参数 \1 后面需要 \2 个值"),
    (r"argument (.+?): not allowed with argument (.+)", r"参数 \1 不能与 \2 同时使用"),
    (r"argument (.+?): ignored explicit argument (.+)", r"参数 \1 不接受值 \2"),
    (r"ambiguous option: (.+?) could match (.+)", r"选项 \1 不明确，可能是 \2"),
]
TYPE_NAMES = {"应为int": "应为整数", "应为float": "应为数字", "应为Path": "应为文件路径"}


def chinese(message: str) -> str:
    for pattern, replacement in ARGPARSE_MESSAGES:
        if re.fullmatch(pattern, message, re.S):
            message = re.sub(pattern, replacement, message, flags=re.S)
            break
    for english, text in TYPE_NAMES.items():
        message = message.replace(english, text)
    return message


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="xlpipeline", description="创建模范机关考评（附件1）：台账计分、填表、生成与发送。")
    parser.add_argument("--version", action="version", version=f"xlpipeline {__version__}", help="显示版本号")
    commands = parser.add_subparsers(dest="command", metavar="命令", required=True, title="命令", parser_class=_Parser)

    p = commands.add_parser("init", help="新建工作簿（任务清单、扣分台账、参数、规则、得分汇总、通讯录、实时计分、工作日历、"
                                         "科室通讯录、工作进度）",
                            description="新建一个工作簿，或用 --add 把其中缺少的工作表添加到已有的工作簿（已有的工作表及其内容"
                                        "保持不变，如已填写完成日期的工作日历）。已存在的文件不会被覆盖，除非加 --force。")
    p.add_argument("path", type=Path, metavar="工作簿", help="工作簿路径（新建时为 .xlsx）")
    p.add_argument("--year", type=int, metavar="年度", default=max(available_years()),
                   help=f"考评年度，决定使用哪一年的规则（现有：{'、'.join(map(str, available_years()))}；默认最新）")
    p.add_argument("--unit", metavar="单位", default="市散墙办", help="单位名称（默认：市散墙办）")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="覆盖已存在的文件")
    mode.add_argument("--add", action="store_true",
                      help="把缺少的工作表添加到已有的工作簿（.xlsx/.xlsm），其中原有的工作表、内容、图片、宏等一概保留")

    p = commands.add_parser("score", help="按扣分台账计分，并把结果写回工作簿",
                            description="读取“扣分台账”和“参数”，逐行校验，计分，写入“任务清单”的扣分、得分、扣分说明"
                                        "和“得分汇总”表。写入前保留备份（工作簿所在文件夹的 .xlpipeline-backup）。")
    p.add_argument("path", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--dry-run", action="store_true", help="只计分和校验，不写入工作簿")
    p.add_argument("--json", action="store_true", help="把结果以 JSON 输出到标准输出")
    p.add_argument("--restore-formulas", action="store_true",
                   help="恢复被改为数值或被改动的实时公式（任务清单的扣分、得分、合计，得分汇总的分值）")

    p = commands.add_parser("template", help="附件1 和汇总表的模板（template build [--rollup]）",
                            description="生成附件1（或加 --rollup：collect 的汇总表）的模板副本，供修改样式后用 --template 指定。")
    template = p.add_subparsers(dest="template_command", metavar="子命令", required=True, title="子命令", parser_class=_Parser)
    p = template.add_parser("build", help="重新生成附件1模板（jinja 模板）",
                            description="生成附件1的 jinja 模板：附件1 表（每项一行的循环行、按指标/分块/责任合并、"
                                        "合计公式）和扣分明细表。可在 Excel 中修改字体、加签章或徽标，submit/batch 照样使用。")
    p.add_argument("--out", type=Path, metavar="文件",
                   help=f"输出路径（默认：当前文件夹的 {TEMPLATE.name}，加 --rollup 时为 {ROLLUP_TEMPLATE.name}）")
    p.add_argument("--rollup", action="store_true",
                   help="生成 collect 用的汇总表模板（汇总、单项统计、问题清单和图表），而不是附件1模板")
    p.add_argument("--force", action="store_true", help="覆盖已存在的文件（原文件备份到 .xlpipeline-backup/）")

    p = commands.add_parser("submit", help="生成本单位填好的附件1（可加 PDF）",
                            description="按扣分台账计分，用附件1模板生成本单位填好的附件1（含扣分明细表）。")
    p.add_argument("workbook", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--out", type=Path, metavar="文件", help="输出文件（默认：工作簿所在文件夹，按 --name 命名）")
    _output_options(p, SUBMIT_NAME)

    p = commands.add_parser("batch", help="按责任科室/任务清单责任科室/责任领导/考评单位/考评指标分组生成附件1",
                            description="每组生成一个工作簿，只含该组的项、小计和扣分明细；同时属于几个组的项"
                                        "（如考评单位“市委办、市政府办”）在每组中都有。另写索引.csv。")
    p.add_argument("workbook", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--by", required=True, choices=GROUPINGS,
                   help="分组依据：责任科室＝扣分台账中每起案件登记的责任科室（各科室只含本科室的案件）；"
                        "任务清单责任科室、责任领导、考评单位、考评指标＝按任务清单的该列分组")
    p.add_argument("--out-dir", type=Path, metavar="文件夹", help="输出文件夹（默认：工作簿旁的“<工作簿名>_按<分组依据>”）")
    _output_options(p, BATCH_NAME)

    p = commands.add_parser("send", help="把附件用邮件发给各考评单位（每封只发一次）",
                            description="按“通讯录”表给每个考评单位生成只含其考评项目的附件并发送。发件记录保存在工作簿旁的 "
                                        f"{OUTBOX_NAME}：已发送的不会再发；连接在发出后中断的记为“结果未知”，"
                                        "不会自动重发（确认对方未收到后加 --resend-unknown）。邮件服务器设置见 README。")
    p.add_argument("workbook", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--by", choices=("考评单位",), default="考评单位", help="按考评单位发送（默认，也是目前唯一的方式）")
    p.add_argument("--dry-run", action="store_true", help="只列出谁将收到什么，不发送")
    p.add_argument("--eml-dir", type=Path, metavar="文件夹", help="不发送，把每封邮件写成 .eml 文件放到此文件夹")
    p.add_argument("--round", metavar="轮次", help="考评轮次名称，用于判断是否已发送（默认：<年度>年度自评）")
    p.add_argument("--resend-unknown", action="store_true", help="重发上次“结果未知”的邮件")
    p.add_argument("--whole", action="store_true", help="附上整张附件1，而不是只含该单位考评项目的附件")
    p.add_argument("--pdf", action="store_true", help="同时附上 PDF（需已安装 LibreOffice）")
    p.add_argument("--config", type=Path, metavar="文件", help=f"邮件设置文件（默认：工作簿旁的 {CONFIG_NAME}）")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="smtp",
                   help="发送方式：smtp（默认）或 outlook（Windows 上通过 Outlook 桌面版）")
    p.add_argument("--template", type=Path, metavar="模板", default=TEMPLATE, help="附件1模板（默认：自带的模板）")

    p = commands.add_parser("collect", help="考评单位汇总：收集各单位的附件，核对后生成汇总表（可加 PDF）",
                            description="读取各单位发来的附件（工作簿、文件夹、.eml 邮件、.zip 压缩包），逐份核对"
                                        "（内嵌数据校验值、可见表格、按内嵌台账重算、年度与规则版本、重复提交），生成汇总工作簿："
                                        "汇总（各单位每项扣分、分块得分、加分、总分、排名，同分同名次）、单项统计、问题清单和图表。"
                                        "汇总工作簿本身也可再被汇总。退出码：0 全部计入；1 有文件未计入（见问题清单）；2 用法或文件错误。")
    p.add_argument("inputs", nargs="+", type=Path, metavar="输入",
                   help="附件工作簿（.xlsx/.xlsm）、文件夹（含子文件夹）、.eml 邮件（读取其中的工作簿附件）或 .zip 压缩包")
    p.add_argument("--out", type=Path, metavar="文件",
                   help=f"汇总工作簿（默认：当前文件夹的 {ROLLUP_NAME}，只加 --json 时不生成；已存在时覆盖，"
                        "原文件备份到 .xlpipeline-backup/）")
    p.add_argument("--as", dest="assessor", metavar="考评单位",
                   help="只汇总该考评单位负责考评的项目（如 市委组织部）；默认汇总全部项目")
    p.add_argument("--year", type=int, metavar="年度", help="汇总年度（默认：多数附件的年度）；其他年度的附件不计入")
    p.add_argument("--pdf", action="store_true", help="同时生成 PDF（A4 横向，需已安装 LibreOffice）")
    p.add_argument("--json", action="store_true",
                   help="把各单位得分、排名和问题清单以 JSON 输出到标准输出（金额为两位小数的字符串）")
    p.add_argument("--template", type=Path, metavar="模板", default=ROLLUP_TEMPLATE,
                   help="汇总表模板（默认：自带的模板；用 template build --rollup 生成可修改的副本）")

    p = commands.add_parser("addin", help="Excel 加载项：“模范机关考评”选项卡（需 Windows 上的 Excel）",
                            description="生成或安装 Excel 加载项。需要 Windows 上的 Microsoft Excel 和 xlwings；"
                                        "WPS 用户请用 xlpipeline wps install 安装 WPS 的选项卡，或使用本机网页（xlpipeline web）。")
    addin = p.add_subparsers(dest="addin_command", metavar="子命令", required=True, title="子命令", parser_class=_Parser)
    p = addin.add_parser("build", help="生成加载项 .xlam", description="通过 Excel 生成加载项（.xlam）。")
    p.add_argument("--out", type=Path, metavar="文件", default=Path(ADDIN_NAME), help=f"输出文件（默认：{ADDIN_NAME}）")
    p = addin.add_parser("install", help="生成并安装加载项",
                         description="生成加载项（或用 --file 指定已生成的），复制到 Excel 的加载项文件夹并启用。")
    p.add_argument("--file", type=Path, metavar="文件", help="已生成的 .xlam（默认：现在生成）")

    p = commands.add_parser("web", help="打开本机网页：不用命令行也能计分、生成、发送和汇总",
                            description="在本机启动“模范机关考评”网页（只有本机可访问），并用默认浏览器打开。"
                                        "第一行输出是网页地址（含访问令牌）；已在运行时直接打开正在运行的那个。按 Ctrl+C 停止。")
    p.add_argument("target", nargs="?", type=Path, metavar="工作簿或文件夹",
                   help="要打开的工作簿，或文件夹视图开始的文件夹（默认：用户主文件夹）")
    p.add_argument("--port", type=int, metavar="端口", help="端口（默认：自动选择一个空闲端口）")
    p.add_argument("--no-browser", action="store_true", help="不自动打开浏览器")

    p = commands.add_parser("launcher", help="在桌面和开始菜单（或应用菜单）添加“模范机关考评”图标",
                            description="添加一个名为“模范机关考评”的图标，双击即打开本机网页（等同于 xlpipeline web）："
                                        "Linux（含统信 UOS、麒麟）为应用菜单和桌面上的 .desktop 启动器，Windows 为开始菜单和桌面快捷方式。")
    p.add_argument("--remove", action="store_true", help="删除添加过的图标")

    p = commands.add_parser("wps", help="WPS 表格的“模范机关考评”选项卡（WPS 加载项）",
                            description="为当前用户安装或卸载 WPS 加载项：WPS 表格中出现“模范机关考评”选项卡，"
                                        "按钮通过本机网页服务（xlpipeline web）计分、生成和发送。")
    wps = p.add_subparsers(dest="wps_command", metavar="子命令", required=True, title="子命令", parser_class=_Parser)
    p = wps.add_parser("install", help="安装（不需要管理员权限）", description="把加载项写入当前用户的 WPS 加载项文件夹并登记。"
                                                                   "装好后重启 WPS；使用时需先启动本机网页服务（xlpipeline web）。")
    p.add_argument("--port", type=int, metavar="端口", help="本机服务给 WPS 用的端口（默认 18427）")
    wps.add_parser("uninstall", help="卸载", description="删除安装时添加的文件和登记。")

    p = commands.add_parser("calendar", help="工作日历：列出逾期和即将到期的工作，可导出 .ics 日历文件",
                            description="读取工作簿的“工作日历”表（应完成的工作按考评年度排出的日期，及已登记的完成日期），"
                                        "列出逾期未完成、即将到期和未到期的工作；逾期工作只作提示，扣分仍以扣分台账为准。"
                                        "默认列出截至今后 14 天应完成而未登记完成的工作。")
    p.add_argument("workbook", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--科室", dest="department", metavar="名称",
                   help="只列该科室的工作（责任科室中含此名称，如 综合科）")
    p.add_argument("--from", dest="start", type=_day, metavar="日期", help="应完成日期不早于此日（如 2026-04-01）")
    p.add_argument("--to", dest="end", type=_day, metavar="日期", help="应完成日期不晚于此日（默认：今后 14 天）")
    p.add_argument("--all", action="store_true", help="也列出已完成的工作")
    p.add_argument("--ics", type=Path, metavar="文件",
                   help="同时写出 iCalendar 日历文件（Outlook、WPS、Thunderbird 可导入；再次导入时更新而不重复）："
                        "含所选科室和 --from/--to 范围内的全部工作，到期前 3 天提醒")
    p.add_argument("--json", action="store_true", help="以 JSON 输出（日期为 YYYY-MM-DD）")

    p = commands.add_parser("remind", help="按工作日历给各科室发邮件提醒（每天每个科室最多一封）",
                            description="按“科室通讯录”表，给每个有逾期或即将到期工作的科室发一封提醒邮件，列出其工作日历中"
                                        "逾期未登记完成和 N 天内到期的工作（科室名称包含在“责任科室”中即算该科室的工作）。"
                                        f"发件记录与 send 共用工作簿旁的 {OUTBOX_NAME}：同一天再次运行不会重发；"
                                        "退出码与 send 相同（3：有邮件未确认送达）。邮件服务器设置见 README。")
    p.add_argument("workbook", type=Path, metavar="工作簿", help="工作簿路径（.xlsx/.xlsm）")
    p.add_argument("--days", type=int, default=7, metavar="N", help="提醒 N 天内到期的工作（默认 7），逾期的总会列出")
    p.add_argument("--dry-run", action="store_true", help="只列出谁将收到什么，不发送")
    p.add_argument("--config", type=Path, metavar="文件", help=f"邮件设置文件（默认：工作簿旁的 {CONFIG_NAME}）")
    p.add_argument("--backend", choices=BACKEND_NAMES, default="smtp",
                   help="发送方式：smtp（默认）或 outlook（Windows 上通过 Outlook 桌面版）")

    p = commands.add_parser("demo", help="复制自带的演示工作簿并计分",
                            description="把自带的演示工作簿（已计分）复制到 --out，并显示其得分。")
    p.add_argument("--out", type=Path, metavar="文件", default=Path(DEMO_WORKBOOK.name),
                   help=f"演示工作簿的复制位置（默认：当前文件夹的 {DEMO_WORKBOOK.name}）")
    p.add_argument("--force", action="store_true", help="覆盖已存在的文件")
    return parser


def _output_options(p, default_name: str) -> None:
    p.add_argument("--pdf", action="store_true", help="同时用 LibreOffice 生成 PDF（需已安装 LibreOffice）")
    p.add_argument("--template", type=Path, metavar="模板", default=TEMPLATE, help="附件1模板（默认：自带的模板）")
    p.add_argument("--name", metavar="格式", default=default_name,
                   help=f"文件名格式，可用 {{attachment}} {{unit}} {{year}} {{by}} {{group}}（默认：{default_name}）"
                        .replace("%", "%%"))


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a redirected Windows console may not encode every character
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except UserError as exc:
        print(str(exc), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:  # Ctrl+C: every write is crash-safe, so nothing is left half done
        print("已中断。", file=sys.stderr)
        return INTERRUPTED
    except OSError as exc:
        print(f"{exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except Exception:  # a bug, not the user's mistake: no traceback on screen, the whole of it in a log
        print(bug_message(), file=sys.stderr)
        return CRASH


CRASH = 4
INTERRUPTED = 130  # as shells report a command ended by Ctrl+C


def _run(args) -> int:
    """Each command imports what it needs when it runs: `score`, which the ribbon starts for every
    click, loads none of the template, mail, Excel or openpyxl modules."""
    return COMMANDS[args.command](args) or 0


def _init(args) -> None:
    from xlpipeline.create import add_to_workbook, init_workbook
    if args.add:
        added, backup = add_to_workbook(args.path, load_rules(args.year), args.unit)
        if added:
            print(f"已在 {args.path} 中添加工作表 {'、'.join(added)}（原文件备份：{backup}）")
        else:
            print(f"{args.path} 中已有全部工作表，未作改动")
    else:
        init_workbook(args.path, load_rules(args.year), args.unit, args.force)
        print(f"已新建 {args.path}")


def _score(args) -> None:
    from xlpipeline.pipeline import score_workbook
    check_not_open(args.path)  # --dry-run too: an open workbook may hold cases not yet saved
    scored = score_workbook(args.path, dry_run=args.dry_run, restore_formulas=args.restore_formulas)
    if args.json:
        print(json.dumps(scored.results.to_json(), ensure_ascii=False, indent=2))
    else:
        print(summary_text(scored.results))
    if args.dry_run:
        print("试运行：没有写入任何文件", file=sys.stderr if args.json else sys.stdout)
    else:
        print(f"已写入 {args.path}" + (f"（原文件备份：{scored.backup}）" if scored.backup else ""),
              file=sys.stderr if args.json else sys.stdout)


def _template(args) -> None:
    if args.rollup:
        from xlpipeline.outputs.collect.template import build_rollup_template as build
        out, users = args.out or Path(ROLLUP_TEMPLATE.name), "collect"
    else:
        from xlpipeline.workbook.form import build_template as build
        out, users = args.out or Path(TEMPLATE.name), "submit、batch、send"
    _refuse_existing(out, args.force)
    build(out)
    print(f"已生成 {out}。{users} 默认使用自带的模板；要用这个模板，请加 --template {out}")


def _submit(args) -> None:
    from xlpipeline.outputs.render import submit
    check_not_open(args.workbook)
    output = submit(FileBook(args.workbook), args.out, args.pdf, args.template, args.name)
    print(f"已生成 {output.path}" + (f" 和 {output.pdf.name}" if output.pdf else ""))


def _batch(args) -> None:
    from xlpipeline.outputs.render import batch
    check_not_open(args.workbook)
    outputs = batch(FileBook(args.workbook), args.by, args.out_dir, args.pdf, args.template, args.name)
    for output in outputs:
        print(f"{output.group}：{output.path.name}（{len(output.items)} 项，扣分 {money(output.deduction)}）")
    if outputs:
        print(f"共 {len(outputs)} 个文件，索引：{outputs[0].path.parent / INDEX}")


def _send(args) -> int | None:
    from xlpipeline.mail import SendOptions, advice, send_book, summary_table, undelivered
    check_not_open(args.workbook)
    options = SendOptions(args.round, args.dry_run, args.eml_dir, args.resend_unknown, args.whole, args.pdf,
                          args.config, args.backend, args.template)
    plan = send_book(FileBook(args.workbook), options)
    print(summary_table(plan, args.dry_run))
    if not (args.dry_run or args.eml_dir) and undelivered(plan):
        print(advice(plan))
        return 3
    return None


def _remind(args) -> int | None:
    from xlpipeline.mail import advice, summary_table, undelivered
    from xlpipeline.mail.remind import RemindOptions, remind_book
    check_not_open(args.workbook)
    if args.days < 0:
        raise UserError("--days 应为不小于 0 的整数")
    plan = remind_book(FileBook(args.workbook), RemindOptions(args.days, args.dry_run, args.config, args.backend))
    if not plan:
        print("没有需要提醒的科室（没有逾期或即将到期的工作，或科室通讯录中没有对应的科室）")
        return None
    print(summary_table(plan, args.dry_run, "科室"))
    if not args.dry_run and undelivered(plan):
        print(advice(plan, REMIND_HINTS))
        return 3
    return None


REMIND_HINTS = {"resend": "次日运行 xlpipeline remind 时会再提醒（当天不重发）", "again": "再次运行 xlpipeline remind 即可重发"}


def _collect(args) -> int | None:
    from xlpipeline.outputs.collect import collect, write_rollup
    out = args.out or (None if args.json and not args.pdf else Path(ROLLUP_NAME))  # --json alone writes nothing
    if out is not None:
        check_not_open(out)  # before the reading work, not after
    # last run's roll-up, in a folder being collected, is not an input
    collected = collect(args.inputs, args.assessor, args.year, exclude=out)
    pdf = write_rollup(collected, out, args.pdf, args.template) if out is not None else None
    report = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(collected.to_json(), ensure_ascii=False, indent=2))
    else:
        print(rollup_text(collected))
    for problem in collected.problems:
        print(("提示：" if problem.counted else "") + f"{problem.file}：{problem.message}", file=report)
    if out is not None:
        print(f"已生成 {out}" + (f" 和 {pdf.name}" if pdf else ""), file=report)
    return 1 if collected.not_counted else None


def rollup_text(collected) -> str:
    lines = [f"{collected.rules.year} 年度汇总（{collected.scope.assessor or '全部项目'}）：{len(collected.units)} 个单位",
             "排名  总分    单位"]
    lines += [f"{u['rank']:<5} {money(u['total']):>6}  {u['unit']}" for u in collected.units.to_dict("records")]
    return "\n".join(lines)


def _addin(args) -> None:
    from xlpipeline.excel.addin import build_addin, install_addin
    if args.addin_command == "build":
        print(f"已生成 {build_addin(args.out)}")
    else:
        built = args.file or build_addin(Path(tempfile.mkdtemp()) / ADDIN_NAME)
        print(f"已安装 {install_addin(built)}；重新打开 Excel 后可见“模范机关考评”选项卡")


def _demo(args) -> None:
    from xlpipeline.pipeline import read_and_score
    _refuse_existing(args.out, args.force)
    # the bundled demo is scored when it is built: a copy needs no second save
    replaced = replace_file(args.out, lambda handle: handle.write(DEMO_WORKBOOK.read_bytes()))
    print(summary_text(read_and_score(FileBook(args.out))[1]))
    print(f"演示工作簿：{args.out.resolve()}" + (f"（原文件备份：{replaced}）" if replaced else ""))


def _refuse_existing(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise FileProblem(f"{path}: 文件已存在；确认要覆盖请加 --force")


def _day(text: str):
    """A date argument, as the log's dates are typed."""
    from datetime import date
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期“{text}”应写成 2026-03-15 这样的格式") from None


def _calendar(args) -> None:
    from datetime import date, timedelta
    from xlpipeline.pipeline import work_calendar
    from xlpipeline.scoring.calendar import SOON_DAYS, in_range
    check_not_open(args.workbook)  # it may hold 完成日期 not yet saved
    rules, entries = work_calendar(FileBook(args.workbook))
    today = date.today()
    chosen = in_range(entries, args.start, args.end or today + timedelta(days=SOON_DAYS), args.department)
    shown = [e for e in chosen if args.all or e.done is None]
    if args.json:
        print(json.dumps([calendar_json(e, today) for e in shown], ensure_ascii=False, indent=2))
    else:
        print(calendar_text(shown, today))
    if args.ics:
        from xlpipeline.outputs.ics import write_calendar_file
        exported = in_range(entries, args.start, args.end, args.department)
        write_calendar_file(exported, args.ics, f"{rules.year}年 工作日历" + (f"（{args.department}）" if args.department else ""))
        print(f"已写出 {args.ics}（{len(exported)} 项）", file=sys.stderr if args.json else sys.stdout)


def calendar_json(e, today) -> dict:
    return {"item": e.item, "duty": e.duty, "every": e.every, "period": e.period, "due": e.due.isoformat(),
            "department": e.department, "done": e.done.isoformat() if e.done else None, "evidence": e.evidence,
            "code": e.code, "status": e.status(today), "uid": e.uid}


def calendar_text(entries, today) -> str:
    if not entries:
        return "所选范围内没有未完成的工作"
    from xlpipeline.workbook.textfit import display_units
    pad = lambda text, units: text + " " * (units - display_units(text))  # noqa: E731 — by width: CJK takes two
    lines = [f"{pad('状态', 10)}应完成日期  序号  工作（期间）  责任科室"]
    for e in entries:
        lines.append(f"{pad(e.status(today), 10)}{e.due:%Y-%m-%d}  {e.item:>4}  {e.duty}（{e.period}）  {e.department}"
                     + (f"  逾期应记 {e.code}" if e.code and e.status(today) == "逾期" else ""))
    return "\n".join(lines)


def _web(args) -> None:
    from xlpipeline.web.server import serve
    serve(args.target, args.port, not args.no_browser)


def _launcher(args) -> None:
    from xlpipeline.web.launcher import install, remove
    if args.remove:
        removed = remove()
        print("已删除：" + "、".join(map(str, removed)) if removed else "没有找到已添加的图标")
    else:
        for path in install():
            print(f"已添加 {path}")


def _wps(args) -> None:
    from xlpipeline.wps.addin import install, uninstall
    if args.wps_command == "install":
        print(f"已安装 WPS 加载项：{install(args.port)}；请重启 WPS，并用“模范机关考评”图标或 xlpipeline web 启动本机服务")
    else:
        removed = uninstall()
        print("已卸载：" + "、".join(map(str, removed)) if removed else "没有找到已安装的 WPS 加载项")


COMMANDS = {"web": _web, "wps": _wps, "launcher": _launcher, "init": _init, "score": _score, "template": _template, "submit": _submit, "batch": _batch,
            "send": _send, "collect": _collect, "addin": _addin, "demo": _demo, "calendar": _calendar,
            "remind": _remind}


def summary_text(results: Results) -> str:
    lines = [f"{results.unit} {results.year} 年度创建模范机关自评得分", "分块  序号      分值    得分"]
    for block in results.blocks:
        items = f"{block.items[0]}–{block.items[-1]}" if len(block.items) > 1 else str(block.items[0])
        lines.append(f"{block.id:<5} {items:<8} {money(block.points):>6}  {money(block.score):>6}")
    lines.append(f"加分 {money(results.bonus)}")
    lines.append(f"总分 {money(results.total)}")
    lines += [f"提示：{w}" for w in results.warnings]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
