#pragma once
// The flags that choose and shape an audit, the same on wmtp-audit and wmtp-report.
#include <CLI/CLI.hpp>

#include "report/audit_session.h"

namespace wmtp::cli {

// --source, --tracking-uri, --ledger, --artifact-cache, --connections, --prereg, --plan, --trusted-keys, --policy,
// --strict,
// --no-figures, --data-root, --no-replay, writing into request; all in the option group "Audit".
void add_audit_flags(CLI::App& app, report::AuditRequest& request);
// True when any of those flags was given.
bool audit_flags_given(const CLI::App& app);

}  // namespace wmtp::cli
