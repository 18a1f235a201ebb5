"""Every UFTP message flexcoord writes fits the bindings of ``shapeshifter-uftp``, which were
generated from the Shapeshifter XSDs, so a schema check runs in CI, where the official XSDs cannot
be (see :mod:`tests.standards.binding_check`). Where the XSD folder (V3.1.0) is present, the two
are compared on every systematic mutant of the messages: they differ only where the package's
bindings differ from the XSD (:data:`POSITIVE_INTEGER`)."""

from __future__ import annotations

import re

from flexcoord.standards import uftp
from tests.standards.binding_check import mutants, uftp_violations
from tests.standards.test_uftp_messages import _exports
from tests.standards.uftp_builders import xsd_dir

#: Where the package's bindings are not the V3.1.0 XSD, as measured by the last test: the
#: Metering EAN pattern (:func:`~tests.standards.binding_check.uftp_violations` applies the
#: XSD's), and ``xs:positiveInteger`` attributes (ISP ``Start``, ``Duration``, ...) bound as
#: plain integers, so the binding check lets a negative one pass.
POSITIVE_INTEGER = re.compile(r"'-1' is not a valid value of the atomic type 'xs:positiveInteger'")


def _violations(message: object, xml: bytes | None = None) -> list[str]:
    return uftp_violations(xml or uftp.to_xml(message), type(message))


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
    assert [d for d in differ if not POSITIVE_INTEGER.search(d[1])] == []
