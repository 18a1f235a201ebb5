"""Every UFTP message flexcoord writes fits the bindings of ``shapeshifter-uftp``, which were
generated from the Shapeshifter XSDs, so a schema check runs in CI, where the official XSDs cannot
be (see :mod:`tests.standards.binding_check`). Where the XSD folder (V3.1.0) is present, the two
are compared on every systematic mutant of the messages: they differ only where the package's
bindings differ from the XSD, listed in :data:`PACKAGE_DIFFERS`."""

from __future__ import annotations

import re

from flexcoord.standards import uftp
from tests.standards.binding_check import binding_violations, mutants
from tests.standards.test_uftp_messages import _exports
from tests.standards.uftp_builders import xsd_dir

#: Where the package's bindings are not the V3.1.0 XSD, as measured by the last test: the
#: Metering EAN pattern is ``[Ee][0-9]{18}`` in the package and ``[Ee][0-9]{16}`` in the XSD
#: (flexcoord follows the XSD), and ``xs:positiveInteger`` attributes (ISP ``Start``,
#: ``Duration``, ...) are bound as plain integers, so the binding check lets a negative one pass.
PACKAGE_DIFFERS = {
    "ean": re.compile(r"/Metering/@EAN: '([^']*)' does not match the pattern \[Ee\]\[0-9\]\{18\}$"),
    "positive": re.compile(r"'-1' is not a valid value of the atomic type 'xs:positiveInteger'"),
}
#: The XSD's EAN pattern, which the binding check applies in place of the package's.
XSD_EAN = re.compile(r"[Ee][0-9]{16}")


def _violations(message: object, xml: bytes | None = None) -> list[str]:
    """The binding check's findings, with the XSD's EAN pattern in place of the package's."""
    found = binding_violations(xml or uftp.to_xml(message), type(message))
    return [v for v in found if not _fits_the_xsd_ean(v)]


def _fits_the_xsd_ean(violation: str) -> bool:
    ean = PACKAGE_DIFFERS["ean"].search(violation)
    return ean is not None and XSD_EAN.fullmatch(ean.group(1)) is not None


def test_every_export_fits_the_packages_bindings() -> None:
    exports = _exports()
    assert sorted(exports) == sorted(k for k, v in uftp.MESSAGE_TYPES.items() if v == "mapped")
    assert {name: _violations(e.message) for name, e in exports.items()} == {
        name: [] for name in exports
    }


def test_the_binding_check_names_what_is_wrong_in_a_broken_message() -> None:
    message = _exports()["FlexRequest"].message
    xml = uftp.to_xml(message).replace(b'Revision="1"', b'Revision="x"')
    (problem,) = _violations(message, xml)
    assert problem == "/FlexRequest/@Revision: 'x' is not a valid int"


def test_the_xsd_and_the_binding_check_differ_only_where_the_package_does() -> None:
    folder = xsd_dir()
    differ: list[tuple[str, str]] = []
    for name, exported in _exports().items():
        for label, mutant in mutants(uftp.to_xml(exported.message)):
            by_xsd = uftp.schema_violations(mutant, folder)
            if bool(by_xsd) != bool(_violations(exported.message, mutant)):
                differ.append((f"{name}: {label}", by_xsd[0] if by_xsd else ""))
    assert [d for d in differ if not PACKAGE_DIFFERS["positive"].search(d[1])] == []
