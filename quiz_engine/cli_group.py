"""The ``quiz`` command group, on its own so every command module can add to it without cycles."""

from flask.cli import AppGroup

quiz_cli = AppGroup("quiz", help="Quản trị cuộc thi (contest administration).")
