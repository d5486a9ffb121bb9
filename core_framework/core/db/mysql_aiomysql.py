"""Tortoise engine for `mysql+aiomysql://` URLs: Tortoise's MySQL client on the aiomysql driver."""

from core.db.mysql_client import client_class_for

client_class = client_class_for("aiomysql")
