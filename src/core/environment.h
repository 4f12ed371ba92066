#pragma once
// What the process environment says about where wmtp runs.
namespace wmtp {

// True when CI is set to anything but "", "false" or "0" (as GitHub Actions, GitLab and most CI
// systems set it): the policy is then prod and debug-only options are refused.
bool ci_environment();

}  // namespace wmtp
