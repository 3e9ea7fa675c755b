"""xlpipeline: exact 创建模范机关 (附件1) scores from an Excel deduction log."""
__version__ = "0.1.0"
