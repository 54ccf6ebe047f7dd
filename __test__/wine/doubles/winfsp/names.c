/* File names as the driver treats them: case folding, comparison, validity, DOS wildcards. */
#include "double.h"

#include <stdlib.h>
#include <string.h>

void name_upcase(WCHAR *name, size_t length) {
  if (length) CharUpperBuffW(name, (DWORD)length);
}

static WCHAR upper(WCHAR unit) {
  WCHAR folded = unit;
  CharUpperBuffW(&folded, 1);
  return folded;
}

static BOOL units_equal(const WCHAR *a, const WCHAR *b, size_t length, BOOL ignore_case) {
  for (size_t i = 0; i < length; i++) {
    if (a[i] != b[i] && (!ignore_case || upper(a[i]) != upper(b[i]))) return FALSE;
  }
  return TRUE;
}

BOOL name_equal(const WCHAR *a, size_t a_length, const WCHAR *b, size_t b_length,
                BOOL ignore_case) {
  return a_length == b_length && units_equal(a, b, a_length, ignore_case);
}

BOOL name_at_or_below(const WCHAR *name, size_t name_length, const WCHAR *prefix,
                      size_t prefix_length, BOOL ignore_case) {
  if (name_length < prefix_length || !units_equal(name, prefix, prefix_length, ignore_case)) {
    return FALSE;
  }
  /* The root is a prefix of everything; otherwise the next unit must start a component. */
  return name_length == prefix_length || (prefix_length == 1 && prefix[0] == L'\\') ||
         name[prefix_length] == L'\\';
}

static BOOL is_wildcard(WCHAR unit) {
  return unit == L'*' || unit == L'?' || unit == L'<' || unit == L'>' || unit == L'"';
}

BOOL name_has_wildcards(const WCHAR *pattern, size_t length) {
  for (size_t i = 0; i < length; i++) {
    if (is_wildcard(pattern[i])) return TRUE;
  }
  return FALSE;
}

/* Whether pattern unit `p` may match nothing before the name unit at `at` (NULL: the end of
 * the name). */
static BOOL matches_empty(WCHAR p, const WCHAR *at) {
  switch (p) {
    case L'*':
    case L'<': return TRUE;
    case L'>': return at == NULL || *at == L'.';
    case L'"': return at == NULL;
    default: return FALSE;
  }
}

/* Whether pattern unit `p` may take name unit `unit`, at the name's last period or not. */
static BOOL takes_unit(WCHAR p, WCHAR unit, BOOL last_period, BOOL ignore_case) {
  switch (p) {
    case L'*':
    case L'?': return TRUE;
    case L'<': return !last_period;
    case L'>': return unit != L'.';
    case L'"': return unit == L'.';
    default: return unit == p || (ignore_case && upper(unit) == p);
  }
}

/* FsRtlIsNameInExpression's rules: `*` any run, `?` one unit, `<` (DOS_STAR) any run that does
 * not take the name's last period, `>` (DOS_QM) one unit but a period, or nothing before a
 * period or the end, `"` (DOS_DOT) a period, or nothing at the end.
 *
 * As FsRtl does, the pattern runs as a set of states, one per pattern unit reached, through
 * the name once: time O(name * pattern), whatever the pattern (backtracking would be
 * exponential in the runs of a pattern such as *a*a*a*b). `reached[i]` says the first i units
 * of the pattern have matched the name so far; `*` and `<` stay in their state while they
 * take units. */
BOOL name_matches(const WCHAR *pattern, size_t pattern_length, const WCHAR *name,
                  size_t name_length, BOOL ignore_case) {
  const WCHAR *last_period = NULL;
  for (size_t i = 0; i < name_length; i++) {
    if (name[i] == L'.') last_period = name + i;
  }
  BOOL *reached = calloc(pattern_length + 1, sizeof *reached);
  BOOL *next = calloc(pattern_length + 1, sizeof *next);
  if (reached == NULL || next == NULL) abort();
  reached[0] = TRUE;
  for (size_t n = 0;; n++) {
    const WCHAR *at = n < name_length ? name + n : NULL;
    /* Pattern units that match nothing here lead on, in the same step. */
    for (size_t p = 0; p < pattern_length; p++) {
      if (reached[p] && matches_empty(pattern[p], at)) reached[p + 1] = TRUE;
    }
    if (at == NULL) break;
    BOOL any = FALSE;
    for (size_t p = 0; p < pattern_length; p++) {
      BOOL taken = reached[p] && takes_unit(pattern[p], *at, at == last_period, ignore_case);
      BOOL stays = pattern[p] == L'*' || pattern[p] == L'<';
      if (taken) next[stays ? p : p + 1] = TRUE;
      any |= taken;
    }
    BOOL *swap = reached;
    reached = next;
    next = swap;
    memset(next, 0, (pattern_length + 1) * sizeof *next);
    if (!any) break;
  }
  BOOL matched = reached[pattern_length];
  free(reached);
  free(next);
  return matched;
}

/* FsRtlTestAnsiCharacter with FSRTL_NTFS_LEGAL: control characters and " * / : < > ? | are
 * not allowed in names; the wildcards among them are in patterns. */
static BOOL legal_unit(WCHAR unit, BOOL wildcards) {
  if (unit >= 0x80) return TRUE;
  if (unit < 0x20) return FALSE;
  if (wildcards && is_wildcard(unit)) return TRUE;
  return strchr("\"*/:<>?|", (char)unit) == NULL;
}

BOOL name_is_valid_path(const WCHAR *path, size_t length, unsigned max_component) {
  if (length == 0) return FALSE;
  size_t component = 0;
  for (size_t i = 0; i < length; i++) {
    if (path[i] == L'\\') {
      if (component > max_component) return FALSE;
      component = 0;
      if (i + 1 < length && path[i + 1] == L'\\') return FALSE;
    } else if (!legal_unit(path[i], FALSE)) {
      return FALSE;
    } else {
      component++;
    }
  }
  return component <= max_component;
}

BOOL name_is_valid_pattern(const WCHAR *pattern, size_t length, unsigned max_component) {
  for (size_t i = 0; i < length; i++) {
    if (pattern[i] == L'\\' || pattern[i] == L':' || !legal_unit(pattern[i], TRUE)) return FALSE;
  }
  return length <= max_component;
}
