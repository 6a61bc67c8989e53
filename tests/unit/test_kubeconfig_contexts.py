"""The existing clusters `caas clean` sweeps (harness.targets_files.kubeconfig_contexts): one per context
of every kubeconfig section, its file made absolute, a context named twice swept once."""

from __future__ import annotations

import textwrap
from pathlib import Path

from harness.targets import parse_targets
from harness.targets_files import kubeconfig_contexts


def test_every_context_of_every_kubeconfig_section_once_with_its_file_made_absolute(tmp_path: Path) -> None:
    text = textwrap.dedent("""\
        version: 1
        products:
          - name: existing
            backend: kubeconfig
            kubeconfig:
              path: configs/admin.kubeconfig
              context: shared
              tenant_contexts: {red: red-ctx, green: shared}
              impersonate_missing_identities: true
            plans: [{name: small}]
          - {name: lab, backend: lab, plans: [{name: small}]}
        tenancy:
          - product: existing
            tenants:
              - {name: blue, plan: small}
              - {name: red, plan: small, placement: dedicated}
              - {name: green, plan: small, placement: dedicated}
          - product: lab
            tenants: [{name: blue, plan: small}]
        """)
    targets = parse_targets(text, "targets.yaml", tmp_path, check_files=False)
    path = (tmp_path / "configs" / "admin.kubeconfig").resolve()
    assert list(kubeconfig_contexts(targets)) == [("existing", path, "shared"), ("existing", path, "red-ctx")]
