"""The 模范机关考评 tab in WPS Spreadsheets: a WPS 加载项 (a small web page WPS loads, with a CustomUI
ribbon and JavaScript over WPS's object model) that calls the local service of `xlpipeline web`.
`addin` builds its files from the Excel ribbon's button list and installs them for the user."""
