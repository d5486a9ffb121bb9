"""Tortoise engine for `mysql+asyncmy://` URLs: Tortoise's MySQL client on the asyncmy driver."""

from core.db.mysql_client import client_class_for

client_class = client_class_for("asyncmy")
