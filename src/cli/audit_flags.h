#pragma once
// The flags that choose and shape an audit, the same on wmtp-audit and wmtp-report.
#include <CLI/CLI.hpp>

#include "report/audit_session.h"

namespace wmtp::cli {

// --source, --tracking-uri, --ledger, --artifact-cache, --prereg, --plan, --trusted-keys, --policy, --strict,
// --no-figures, writing into request; all in the option group "Audit".
void add_audit_flags(CLI::App& app, report::AuditRequest& request);
// --trusted-keys FILE|DIR (or WMTP_TRUSTED_KEYS) into request.trusted_keys: the PEM public keys whose
// signatures count. One flag for every use of trust; outside the "Audit" group, so that the
// variable alone never counts as an audit flag.
CLI::Option* add_trusted_keys_flag(CLI::App& app, report::AuditRequest& request);
// True when any of those flags was given.
bool audit_flags_given(const CLI::App& app);

}  // namespace wmtp::cli
