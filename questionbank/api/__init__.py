"""The JSON API under /api/v1/ (issue 16), built on Django REST framework.

Views here only translate HTTP to the services (writes) and selectors (reads), with the
site's role rules from ``questionbank.permissions``. Every error is a JSON body
``{"code": ..., "message": ...}`` (``errors.py``); the schema is drf-spectacular's.
"""
