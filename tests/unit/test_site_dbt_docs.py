"""The repair of dbt-docs' two references that 404 before AngularJS renders (pure text)."""

from __future__ import annotations

from lakehouse.site.dbt_docs import fix_broken_references

DBT_DOCS_SNIPPET = (
    '<link rel="shortcut icon" href="${require(\'./assets/favicons/favicon.ico\')}" />'
    '<script>var t=\'<svg class="icn"><use xlink:href="{{ getIcon(item.type, \\\'on\\\') }}">'
    '</use></svg><use xlink:href="#static"></use>\';</script>'
)


def test_broken_references_are_repaired_and_the_rest_is_kept() -> None:
    fixed = fix_broken_references(DBT_DOCS_SNIPPET)

    assert "${require(" not in fixed and 'href="../assets/favicon.svg"' in fixed
    assert '<use ng-attr-href="{{ getIcon(item.type' in fixed
    assert '<use xlink:href="#static">' in fixed, "references without an expression are kept"


def test_unknown_markup_passes_through() -> None:
    html = "<html><head><title>dbt Docs</title></head></html>"
    assert fix_broken_references(html) == html
