"""Names and defaults that the command line's help shows, free of imports, so that building the
parser for `score` loads none of the modules behind the other commands. Each is defined here once
and imported by the module that uses it."""

SUBMIT_NAME = "{attachment}_{unit}_{year}年创建模范机关自评"   # outputs: file name patterns
BATCH_NAME = "{attachment}_{unit}_{year}年_{group}"
INDEX = "索引.csv"                                           # outputs: batch's index
GROUPINGS = ("责任科室", "责任领导", "考评单位", "考评指标")       # report: batch --by
ADDIN_NAME = "模范机关考评.xlam"                               # excel.addin
CONFIG_NAME = "xlpipeline-mail.toml"                         # mail.transport: settings beside the workbook
OUTBOX_NAME = ".xlpipeline-outbox.sqlite3"                   # mail.outbox
BACKEND_NAMES = ("outlook", "smtp")                          # mail: send --backend
