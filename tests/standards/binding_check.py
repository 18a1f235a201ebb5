"""A document checked against xsdata bindings generated from its official XSD.

The official XSDs cannot be committed here, and the CI machine reaches only package registries,
so the XSD tests (``schema_violations``) run only where a folder of them is given. What the
registries do ship are bindings that xsdata generated from those XSDs, each field carrying the
schema's own facets in its metadata: ``entsoe-apy`` for the IEC 62325-451 documents (the exact
versions flexcoord writes) and ``shapeshifter-uftp`` for UFTP. :func:`binding_violations` checks a
document's XML tree against such a binding, as a validator checks it against the XSD:

- every element and attribute is one the schema declares for its parent (namespace included),
  the children in the schema's sequence order, each between its ``minOccurs`` and ``maxOccurs``;
- every required element and attribute is present;
- every value is of its schema type (xsdata's own converters: dates, durations, decimals,
  integers, booleans) and within the type's facets (code lists, ``pattern``, ``length``,
  ``minLength``/``maxLength``, ``min``/``maxInclusive``/``Exclusive``, ``totalDigits``,
  ``fractionDigits``).

It does not implement ``xs:choice`` groups or identity constraints (the documents here have
none), and XSD regular expressions are read as Python ones (the patterns here mean the same in
both). ``test_schemas`` and ``test_uftp_messages`` measure it against the XSDs where their folders
are present: each broken document the XSD refuses, the binding check refuses too.

Test-only: ``entsoe-apy`` is GPL-3.0-or-later, so flexcoord's own code never imports it.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import warnings
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from enum import Enum
from functools import cache
from typing import Any

from lxml import etree
from xsdata.exceptions import ConverterWarning
from xsdata.formats.converter import converter
from xsdata.formats.dataclass.context import XmlContext
from xsdata.formats.dataclass.models.elements import XmlMeta, XmlVar

_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


@cache
def _context(pydantic: bool) -> XmlContext:
    if pydantic:
        from xsdata_pydantic.bindings import XmlContext as PydanticContext

        return PydanticContext()
    return XmlContext()


def _meta(cls: type) -> XmlMeta:
    return _context(not dataclasses.is_dataclass(cls)).build(cls)


@cache
def _facets(cls: type) -> Mapping[str, Mapping[str, Any]]:
    """Each field's xsdata metadata (the schema's facets), by field name."""
    if dataclasses.is_dataclass(cls):
        return {f.name: f.metadata for f in dataclasses.fields(cls)}
    return {
        name: getattr(info, "xsdata_metadata", None) or {}
        for name, info in cls.model_fields.items()  # type: ignore[attr-defined]
    }


def _local(qname: str) -> str:
    return etree.QName(qname).localname


def binding_violations(xml: bytes, root: type) -> list[str]:
    """What in ``xml`` breaks the schema ``root`` (the document's binding class) was generated
    from, each as ``path: problem``; empty when it fits."""
    element = etree.fromstring(xml, parser=_PARSER)
    meta = _meta(root)
    if element.tag != meta.qname:
        return [f"/{_local(element.tag)}: is not {meta.qname} (root element or namespace)"]
    return list(_element(element, root, f"/{_local(element.tag)}"))


def _element(element: Any, cls: type, path: str) -> Iterator[str]:
    meta, facets = _meta(cls), _facets(cls)
    yield from _attributes(element, meta, facets, path)
    text = (element.text or "").strip()
    if meta.text is not None:
        yield from _value(text, meta.text, facets[meta.text.name], f"{path}/text()")
    elif text:
        yield f"{path}: text {text[:40]!r} where the schema allows none"

    counts: dict[str, int] = {}
    last = -1
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions
            continue
        index = counts.get(child.tag, 0) + 1
        counts[child.tag] = index
        where = f"{path}/{_local(child.tag)}[{index}]"
        var = _child_var(meta, child.tag)
        if var is None:
            yield f"{where}: element not allowed here (or in the wrong namespace)"
            continue
        if var.index < last:
            yield f"{where}: out of the schema's sequence order"
        last = max(last, var.index)
        if var.clazz is not None:
            yield from _element(child, var.clazz, where)
        else:
            yield from _value((child.text or "").strip(), var, facets[var.name], where)
            yield from _attributes(child, None, {}, where)

    for var in meta.get_element_vars():
        if var.is_text or var.is_wildcard:
            continue
        seen = counts.get(var.qname, 0)
        low, high = _occurs(var, facets[var.name])
        if seen < low:
            yield f"{path}/{_local(var.qname)}: missing (at least {low} required)"
        if high is not None and seen > high:
            yield f"{path}/{_local(var.qname)}: {seen} times, at most {high} allowed"


def _child_var(meta: XmlMeta, tag: str) -> XmlVar | None:
    found = meta.elements.get(tag)
    return found[0] if found else None


def _occurs(var: XmlVar, facets: Mapping[str, Any]) -> tuple[int, int | None]:
    if var.list_element:
        return int(facets.get("min_occurs", 0)), facets.get("max_occurs")
    required = facets.get("required", var.required)
    return (1 if required else int(facets.get("min_occurs", 0))), 1


def _attributes(
    element: Any, meta: XmlMeta | None, facets: Mapping[str, Mapping[str, Any]], path: str
) -> Iterator[str]:
    declared = {} if meta is None else meta.attributes
    for qname, value in element.attrib.items():
        if etree.QName(qname).namespace == _XSI:
            continue
        var = declared.get(qname)
        if var is None:
            yield f"{path}/@{_local(qname)}: attribute not allowed here"
        else:
            yield from _value(value, var, facets[var.name], f"{path}/@{_local(qname)}")
    for qname, var in declared.items():
        if facets[var.name].get("required", var.required) and qname not in element.attrib:
            yield f"{path}/@{_local(qname)}: missing (required)"


def _value(text: str, var: XmlVar, facets: Mapping[str, Any], path: str) -> Iterator[str]:
    """``text`` against its type and facets."""
    tokens = text.split() if var.tokens else [text]
    for token in tokens:
        problem = _type_problem(token, var) or _facet_problem(token, facets)
        if problem:
            yield f"{path}: {token[:40]!r} {problem}"


def _type_problem(token: str, var: XmlVar) -> str | None:
    codes = [t for t in var.types if isinstance(t, type) and issubclass(t, Enum)]
    if codes:
        allowed = {str(m.value) for t in codes for m in t}
        return None if token in allowed else f"is not in the code list {codes[0].__name__}"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConverterWarning)
        try:
            converter.deserialize(token, list(var.types), format=var.format)
        except (ConverterWarning, ValueError, TypeError):
            names = "/".join(getattr(t, "__name__", str(t)) for t in var.types)
            return f"is not a valid {names}"
    return None


def _facet_problem(token: str, facets: Mapping[str, Any]) -> str | None:
    pattern = facets.get("pattern")
    if pattern is not None and re.fullmatch(pattern, token) is None:
        return f"does not match the pattern {pattern[:60]}"
    for key, fits in (
        ("length", lambda n: len(token) == n),
        ("min_length", lambda n: len(token) >= n),
        ("max_length", lambda n: len(token) <= n),
    ):
        if key in facets and not fits(facets[key]):
            return f"breaks {key} {facets[key]}"
    numeric = ("min_inclusive", "max_inclusive", "min_exclusive", "max_exclusive")
    if not any(k in facets for k in (*numeric, "total_digits", "fraction_digits")):
        return None
    try:
        number = Decimal(token)
    except InvalidOperation:
        return "is not a number"
    for key, fits in (
        ("min_inclusive", lambda b: number >= b),
        ("max_inclusive", lambda b: number <= b),
        ("min_exclusive", lambda b: number > b),
        ("max_exclusive", lambda b: number < b),
    ):
        if key in facets and not fits(Decimal(str(facets[key]))):
            return f"breaks {key} {facets[key]}"
    _, figures, exponent = number.normalize().as_tuple()
    fraction = max(0, -int(exponent))
    total = max(len(figures), fraction)
    if "total_digits" in facets and total > facets["total_digits"]:
        return f"breaks total_digits {facets['total_digits']}"
    if "fraction_digits" in facets and fraction > facets["fraction_digits"]:
        return f"breaks fraction_digits {facets['fraction_digits']}"
    return None


#: shapeshifter-uftp's Metering EAN pattern, and the 3.1.0 XSD's (flexcoord follows the XSD).
_PACKAGE_EAN = re.compile(
    r"/Metering/@EAN: '([^']*)' does not match the pattern \[Ee\]\[0-9\]\{18\}$"
)
_XSD_EAN = re.compile(r"[Ee][0-9]{16}")


def uftp_violations(xml: bytes, message_class: type) -> list[str]:
    """:func:`binding_violations` against a ``shapeshifter-uftp`` class, with the 3.1.0 XSD's
    EAN pattern (``[Ee][0-9]{16}``) in place of the package's (``[Ee][0-9]{18}``)."""
    return [v for v in binding_violations(xml, message_class) if not _xsd_ean(v)]


def _xsd_ean(violation: str) -> bool:
    ean = _PACKAGE_EAN.search(violation)
    return ean is not None and _XSD_EAN.fullmatch(ean.group(1)) is not None


#: What :func:`mutants` writes into a value: not a number, empty, negative, too long, a code.
_VALUES = ("x", "", "-1", "Z" * 70, "A9")


def mutants(xml: bytes) -> Iterator[tuple[str, bytes]]:
    """Every document one systematic edit away from ``xml``, named: each element deleted and
    duplicated, each leaf's text and each attribute replaced by each of :data:`_VALUES`, each
    attribute deleted. The XSD and the binding check are compared on all of them."""
    root = etree.fromstring(xml, parser=_PARSER)
    for i, original in enumerate(root.iter()):
        label = f"{_local(original.tag)}#{i}"
        edits: list[tuple[str, Any]] = []
        if i:
            edits += [("deleted", lambda el: el.getparent().remove(el))]
            edits += [("duplicated", lambda el: el.addnext(copy.deepcopy(el)))]
        if not len(original):
            edits += [(f"text {v!r}", lambda el, v=v: setattr(el, "text", v)) for v in _VALUES]
        for name in original.attrib:
            at = f"@{_local(name)}"
            edits += [(f"{at} deleted", lambda el, n=name: el.attrib.pop(n))]
            edits += [(f"{at} {v!r}", lambda el, n=name, v=v: el.set(n, v)) for v in _VALUES]
        for what, edit in edits:
            copied = copy.deepcopy(root)
            edit(list(copied.iter())[i])
            yield f"{label} {what}", etree.tostring(copied)
