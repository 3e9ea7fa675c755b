"""Names and defaults that the command line's help shows, free of imports, so that building the
parser for `score` loads none of the modules behind the other commands. Each is defined here once
and imported by the module that uses it."""

SUBMIT_NAME = "{attachment}_{unit}_{year}年创建模范机关自评"   # outputs: file name patterns
BATCH_NAME = "{attachment}_{unit}_{year}年_{group}"
INDEX = "索引.csv"                                           # outputs: batch's index
ROLLUP_NAME = "汇总.xlsx"                                     # outputs.collect: the roll-up workbook
# report: batch --by. 责任科室 is the department each case is logged under (扣分台账's column);
# the others, and 任务清单责任科室, are columns of the official form grouping its items
BY_DEPARTMENT = "责任科室"
GROUPINGS = (BY_DEPARTMENT, "任务清单责任科室", "责任领导", "考评单位", "考评指标")
NO_DEPARTMENT = "（未填责任科室）"                             # the group of cases logged without one
ADDIN_NAME = "xlpipeline.xlam"                               # excel.addin
CONFIG_NAME = "xlpipeline-mail.toml"                         # mail.transport: settings beside the workbook
OUTBOX_NAME = ".xlpipeline-outbox.sqlite3"                   # mail.outbox
BACKEND_NAMES = ("outlook", "smtp")                          # mail: send --backend
