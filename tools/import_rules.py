"""An import-linter contract type for allowlists, which the built-in types cannot express.

`forbidden` contracts list what may not be imported; a new dependency would
slip past them. An `allowlist` contract names what `source_modules` (and
their descendants) may import: the standard library, their own package, and
`allowed_modules` (with descendants). Anything else breaks it.
"""

from __future__ import annotations

import sys

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, fields, output


class AllowlistContract(Contract):
    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        allowed = [str(name) for name in self.allowed_modules]  # type: ignore[attr-defined]
        broken: list[tuple[str, str, list[int]]] = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            own = [source.name, *allowed]
            for module in sorted({source.name} | graph.find_descendants(source.name)):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    if imported.split(".")[0] in sys.stdlib_module_names:
                        continue
                    if any(imported == ok or imported.startswith(f"{ok}.") for ok in own):
                        continue
                    details = graph.get_import_details(importer=module, imported=imported)
                    broken.append((module, imported, [d["line_number"] for d in details]))
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, imported, lines in check.metadata["broken"]:
            where = ", ".join(f"l.{line}" for line in lines)
            output.print_error(f"{module} -> {imported} ({where}): not on the allowlist")
            output.new_line()
