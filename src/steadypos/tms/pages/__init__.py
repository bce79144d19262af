"""The TMS's pages under /ui: Jinja2 templates, plain forms, assets vendored here; every text
from the i18n catalogue (Chinese and English)."""
