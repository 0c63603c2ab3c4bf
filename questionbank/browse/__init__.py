"""The students' side: search (parse, match, highlight) and the page cache."""
