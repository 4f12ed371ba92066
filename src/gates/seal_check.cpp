#include "gates/seal_check.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "core/sha256.h"
#include "experiment/run_contract.h"
#include "experiment/seal.h"

namespace wmtp::gates {
namespace {

namespace tag = contract::tag;
namespace artifact = contract::artifact;

bool is_figure_path(const std::string& path) { return path.rfind(artifact::kFigureDir, 0) == 0; }

// The seal's text when its tag and artifact agree; else its problem: a run without seal tag and
// file is unsealed (a WARNING when the audit expects seals); a tag without its file or a file that
// does not hash to the tag FAILs.
std::optional<std::string> sealed_text(const RunRecord& run, const AuditInputs& in, std::vector<Finding>& out) {
  auto sha = run.tags.find(tag::kSealSha256);
  const bool has_tag = sha != run.tags.end();
  const bool has_file = std::any_of(run.artifacts.begin(), run.artifacts.end(),
                                    [](const ArtifactRef& a) { return a.path == artifact::kSeal; });
  auto text = in.seal_texts.find(run.local_id);
  if (!has_tag && !has_file) {
    if (in.seals_expected) {
      out.push_back(Finding::warn("run is not sealed: edits after the fact cannot be detected",
                                  std::string("tag ") + tag::kSealSha256, "none"));
    }
    return std::nullopt;
  }
  if (!has_tag) {
    out.push_back(
        Finding::fail(std::string("the seal's tag ") + tag::kSealSha256 + " is missing", "present", "missing"));
    return std::nullopt;
  }
  if (!has_file || text == in.seal_texts.end()) {
    out.push_back(Finding::fail(std::string("the seal artifact ") + artifact::kSeal + " is missing", "present",
                                has_file ? "unreadable" : "missing"));
    return std::nullopt;
  }
  const std::string actual = sha256_hex(text->second);
  if (actual != sha->second) {
    out.push_back(Finding::fail("the seal artifact does not match its tag", sha->second, actual));
    return std::nullopt;
  }
  return text->second;
}

}  // namespace

SealFindings check_seal(const RunRecord& run, const AuditInputs& in) {
  SealFindings f;
  const std::optional<std::string> text = sealed_text(run, in, f.run);
  if (!text) return f;
  std::vector<experiment::SealBreach> breaches;
  try {
    const experiment::Seal seal = experiment::Seal::from_json(nlohmann::json::parse(*text), artifact::kSeal);
    breaches = experiment::compare_with_seal(run, seal);
  } catch (const std::exception& e) {
    f.run.push_back(Finding::fail(std::string("the seal cannot be read: ") + e.what(), "a seal", "unreadable"));
  }
  for (const experiment::SealBreach& b : breaches) {
    const bool figure = b.kind == experiment::SealBreach::Kind::kArtifact && is_figure_path(b.field);
    (figure ? f.figures : f.run).push_back(Finding::fail(b.message, b.expected, b.observed));
  }
  return f;
}

std::vector<SealFindings> check_seals(const RunSet& runs, const AuditInputs& in) {
  std::vector<SealFindings> out(runs.runs.size());
  parallel_for(
      out.size(), [&](std::size_t i) { out[i] = check_seal(runs.runs[i], in); }, 64);
  return out;
}

}  // namespace wmtp::gates
