"""The DSL front end: lexer, recursive-descent parser, name and annotation checks, loader, formatter.

`parse_source` never raises on bad input: every problem becomes a diagnostic. Codes reported here:
E001 syntax, E002 import error (a missing imported file or an import cycle), E010 undefined role,
E011 duplicate role, E013 index out of range, E060 annotation type error, W101 unknown annotation key.
"""

from aura_choreo.syntax.annotation_checks import KNOWN_ANNOTATION_KEYS
from aura_choreo.syntax.dump import dump_ast
from aura_choreo.syntax.layout import format_source
from aura_choreo.syntax.lexer import collect_comments
from aura_choreo.syntax.loader import IMPORT_ERROR, LoadResult, load_sources, read_source
from aura_choreo.syntax.parser import ParseResult, check_file, parse, parse_source

__all__ = [
    "IMPORT_ERROR",
    "KNOWN_ANNOTATION_KEYS",
    "LoadResult",
    "ParseResult",
    "check_file",
    "collect_comments",
    "dump_ast",
    "format_source",
    "load_sources",
    "parse",
    "parse_source",
    "read_source",
]
