"""Split an extracted :class:`~qaforge.records.Document` into chunks sized for one LLM call.

The rules, in order of strength:

1. Every chunk's text fits ``max_tokens`` as counted by the generating model's own tokenizer
   (the final text is measured, not estimated). The one exception is a single character
   that alone counts more than the budget, which cannot be cut further.
2. A sentence is never cut. A paragraph that does not fit is split between sentences; a
   table or code block that does not fit is split between lines. Only a single sentence (or
   line) longer than the whole budget is split, between words; a single "word" longer than
   the budget (a run of characters with no space) is split between characters.
3. A chunk never spans two top-level sections unless both sections are tiny (under
   ``min_tokens`` in total); a heading starts a new chunk when the current one is
   non-trivial (``min_tokens`` or more).
4. Small consecutive snippets are packed together up to the budget, and a chunk under
   ``min_tokens`` is merged with a neighbour in the same top-level section when it fits.

Headings are not repeated in the chunk text; each chunk carries the heading path in force
at its start. Elements are joined with a blank line. The whole pass is linear in the size
of the document and calls ``count_tokens`` on elements, sentences and final chunks (cached),
never word by word except to split an over-long sentence.
"""

from qaforge.chunking.budget import MAX_BUDGET, MIN_BUDGET, TokenCounter, default_chunk_budget
from qaforge.chunking.document import ELEMENT_SEPARATOR, chunk_document

__all__ = ["ELEMENT_SEPARATOR", "MAX_BUDGET", "MIN_BUDGET", "TokenCounter", "chunk_document",
           "default_chunk_budget"]
