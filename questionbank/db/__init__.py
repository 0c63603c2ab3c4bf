"""The few raw-SQL pieces Django does not manage, each rule in one form.

- ``published``: "students may see this problem" as SQL, for raw queries and for the
  trigger and function bodies the migrations freeze (tests compare them with it).
- ``sqlite``: the SQLite triggers (full-text index, browse generation) as they are now,
  and the post_migrate hook that puts them back after Django rebuilds a table.

Migrations never import this package (DESIGN.md, convention 13): they hold frozen copies.
"""
