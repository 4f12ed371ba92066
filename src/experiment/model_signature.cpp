#include "experiment/model_signature.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/errors.h"
#include "core/json_field.h"
#include "core/sha256.h"

namespace wmtp::experiment {

namespace fs = std::filesystem;

namespace {

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string hex_bytes(const std::string& hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

// Relative POSIX, as pathlib writes it: no empty, "." or ".." component.
bool is_relative_posix(const std::string& path) {
  if (path.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "." || part == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

// sha256 over the raw digests in the resources' order: the statement's subject digest.
std::string root_digest(const std::vector<SignedFile>& files) {
  Sha256 hash;
  for (const SignedFile& f : files) hash.update(hex_bytes(f.sha256));
  return hash.hex_digest();
}

std::string model_name_of(const std::string& dir) {
  const fs::path normal = fs::path(dir).lexically_normal();
  std::string name = normal.filename().string();
  if (name.empty()) name = normal.parent_path().filename().string();  // "model/" normalises to "model/"
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    name = fs::weakly_canonical(dir, ec).filename().string();
  }
  return name;
}

// The signature file's path relative to dir when it lies inside it (both resolved), else "".
std::string relative_inside(const std::string& dir, const std::string& path) {
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(dir, ec);
  const fs::path target = fs::weakly_canonical(path, ec);
  const std::string rel = target.lexically_relative(root).generic_string();
  if (rel.empty() || rel == "." || rel.rfind("..", 0) == 0) return "";
  return rel;
}

std::string read_signature_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path + ": cannot open the signature");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string some_names(const std::vector<std::string>& names) {
  constexpr std::size_t kShown = 3;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kShown; ++i) out += (i > 0 ? ", " : "") + names[i];
  if (names.size() > kShown) out += " and " + std::to_string(names.size() - kShown) + " more";
  return out;
}

using Outcome = ModelSignatureCheck::Outcome;

ModelSignatureCheck failed(ModelSignatureCheck check, Outcome outcome, const std::string& message) {
  check.outcome = outcome;
  check.message = message;
  return check;
}

ModelManifest read_statement(const std::string& payload, const std::string& origin, bool* unsupported) {
  const nlohmann::json json = parse_json_text(payload, origin + " (statement)");
  const JsonField root(json, origin + " (statement)");
  if (!is_statement_of(root, kModelSignaturePredicateType)) {
    *unsupported = true;
    root.at("predicateType")
        .fail("predicate type '" + root.at("predicateType").as_string() + "'; wmtp reads " +
              kModelSignaturePredicateType);
  }
  const std::vector<JsonField> subjects = root.at("subject").elements();
  ModelManifest manifest;
  manifest.model_name = subjects[0].has("name") ? subjects[0].at("name").as_string() : "";
  const std::string subject_digest = subjects[0].at("digest").at("sha256").as_string();

  const JsonField predicate = root.at("predicate");
  const JsonField serialization = predicate.at("serialization");
  for (const char* key : {"method", "hash_type"}) {
    const std::string value = serialization.at(key).as_string();
    if (value != (std::string(key) == "method" ? "files" : "sha256")) {
      *unsupported = true;
      serialization.at(key).fail("'" + value + "'; wmtp reads the \"files\" serialization with sha256");
    }
  }
  manifest.allow_symlinks = serialization.at("allow_symlinks").as_bool();
  if (serialization.has("ignore_paths")) {
    for (const JsonField& p : serialization.at("ignore_paths").elements())
      manifest.ignore_paths.push_back(p.as_string());
  }
  std::map<std::string, int> seen;
  for (const JsonField& r : predicate.at("resources").elements()) {
    SignedFile file{r.at("name").as_nonempty_string(), r.at("digest").as_string()};
    if (r.at("algorithm").as_string() != "sha256") {
      *unsupported = true;
      r.at("algorithm").fail("expected sha256");
    }
    if (!is_sha256_hex(file.sha256)) r.at("digest").fail("expected 64 lower-case hex characters");
    if (seen[file.path]++ > 0) r.at("name").fail("'" + file.path + "' is listed twice");
    manifest.files.push_back(std::move(file));
  }
  if (root_digest(manifest.files) != subject_digest) {
    root.at("subject").fail("the subject's digest is not the digest of the resources it lists");
  }
  return manifest;
}

// Everything but the files: bundle, key, signature, statement.
ModelSignatureCheck check_bundle(const std::string& bundle_text, const std::string& origin,
                                 const std::vector<EcdsaPublicKey>& trusted_keys) {
  ModelSignatureCheck check;
  const OpenedBundle opened = open_signed_statement(bundle_text, origin, trusted_keys);
  check.authenticated = opened.authenticated;
  check.key_fingerprint = opened.key_fingerprint;
  switch (opened.outcome) {
    case OpenedBundle::Outcome::kOpened: break;
    case OpenedBundle::Outcome::kMalformed: return failed(check, Outcome::kMalformed, opened.message);
    case OpenedBundle::Outcome::kUnsupported: return failed(check, Outcome::kUnsupported, opened.message);
    case OpenedBundle::Outcome::kUnknownKey: return failed(check, Outcome::kUnknownKey, opened.message);
    case OpenedBundle::Outcome::kBadSignature: return failed(check, Outcome::kBadSignature, opened.message);
  }
  bool unsupported = false;
  try {
    check.manifest = read_statement(opened.payload, origin, &unsupported);
  } catch (const InputError& e) {
    return failed(check, unsupported ? Outcome::kUnsupported : Outcome::kMalformed, e.what());
  }
  check.outcome = check.authenticated ? Outcome::kVerified : Outcome::kIntact;
  return check;
}

ModelSignatureCheck compare_files(ModelSignatureCheck check, const std::string& origin,
                                  const std::vector<SignedFile>& actual) {
  std::map<std::string, std::string> now;
  for (const SignedFile& f : actual) {
    if (!is_ignored(f.path, check.manifest.ignore_paths)) now[f.path] = f.sha256;
  }
  for (const SignedFile& f : check.manifest.files) {
    const auto it = now.find(f.path);
    if (it == now.end()) {
      check.missing_files.push_back(f.path);
      continue;
    }
    if (it->second != f.sha256) check.changed_files.push_back(f.path);
    now.erase(it);
  }
  for (const auto& [path, digest] : now) check.extra_files.push_back(path);
  for (auto* list : {&check.missing_files, &check.changed_files}) std::sort(list->begin(), list->end());

  const std::string signer = check.authenticated ? "key " + check.key_fingerprint : "the unauthenticated statement";
  if (!check.missing_files.empty() || !check.changed_files.empty() || !check.extra_files.empty()) {
    std::string what;
    const auto add = [&what](const char* label, const std::vector<std::string>& names) {
      if (!names.empty()) what += std::string(what.empty() ? "" : "; ") + label + ": " + some_names(names);
    };
    add("changed", check.changed_files);
    add("missing", check.missing_files);
    add("extra", check.extra_files);
    return failed(check, Outcome::kFilesDiffer, origin + ": the files differ from what " + signer + " signed: " + what);
  }
  if (!check.authenticated) {
    check.message = origin +
                    ": files match the statement, but its signature was not checked (no trusted keys; it names key " +
                    (check.key_fingerprint.empty() ? std::string("none") : check.key_fingerprint) + ")";
  }
  return check;
}

}  // namespace

bool path_less(const std::string& a, const std::string& b) {
  const auto rank = [](char c) { return c == '/' ? 0 : static_cast<int>(static_cast<unsigned char>(c)) + 1; };
  const std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] != b[i]) return rank(a[i]) < rank(b[i]);
  }
  return a.size() < b.size();
}

bool is_ignored(const std::string& path, const std::vector<std::string>& ignore_paths) {
  for (const std::string& raw : ignore_paths) {
    std::string ignored = fs::path(raw).lexically_normal().generic_string();
    while (!ignored.empty() && ignored.back() == '/') ignored.pop_back();
    if (ignored.empty() || ignored == ".") return true;
    if (path == ignored || (path.size() > ignored.size() && path.compare(0, ignored.size(), ignored) == 0 &&
                            path[ignored.size()] == '/')) {
      return true;
    }
  }
  return false;
}

const std::vector<std::string>& git_ignore_paths() {
  static const std::vector<std::string> kPaths = {".git", ".gitattributes", ".github", ".gitignore"};
  return kPaths;
}

std::vector<SignedFile> hash_model_directory(const std::string& dir, const std::vector<std::string>& ignore_paths,
                                             bool allow_symlinks) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError(dir + ": not a directory");
  const fs::path root(dir);
  std::vector<SignedFile> files;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const std::string rel = entry.path().lexically_relative(root).generic_string();
    if (is_ignored(rel, ignore_paths)) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string where = entry.path().string();
    if (entry.is_symlink(ec)) {
      if (!allow_symlinks) {
        throw InputError(where +
                         ": a symbolic link; model signing's files serialization refuses links unless "
                         "symlinks are allowed");
      }
      if (fs::is_directory(entry.path(), ec)) continue;
    }
    if (entry.is_directory(ec)) continue;
    if (!entry.is_regular_file(ec)) {
      throw InputError(where + ": neither a regular file nor a directory (a special file or a broken link)");
    }
    files.push_back({rel, sha256_file_hex(where)});
  }
  if (ec) throw InputError(dir + ": cannot list the directory: " + ec.message());
  std::sort(files.begin(), files.end(),
            [](const SignedFile& a, const SignedFile& b) { return path_less(a.path, b.path); });
  return files;
}

nlohmann::json model_signature_statement(const ModelManifest& manifest) {
  if (manifest.model_name.empty()) throw InputError("model signature: the model needs a name");
  std::vector<SignedFile> files = manifest.files;
  std::sort(files.begin(), files.end(),
            [](const SignedFile& a, const SignedFile& b) { return path_less(a.path, b.path); });
  nlohmann::json resources = nlohmann::json::array();
  for (std::size_t i = 0; i < files.size(); ++i) {
    const SignedFile& f = files[i];
    if (!is_relative_posix(f.path)) {
      throw InputError("model signature: '" + f.path +
                       "' is not a relative POSIX path (no leading /, no empty, . or .. part)");
    }
    if (i > 0 && files[i - 1].path == f.path) throw InputError("model signature: '" + f.path + "' is listed twice");
    if (!is_sha256_hex(f.sha256)) {
      throw InputError("model signature: the digest of '" + f.path + "' is not 64 lower-case hex characters");
    }
    resources.push_back({{"name", f.path}, {"algorithm", "sha256"}, {"digest", f.sha256}});
  }
  nlohmann::json serialization = {{"method", "files"},
                                  {"hash_type", "sha256"},
                                  {"allow_symlinks", manifest.allow_symlinks}};
  if (!manifest.ignore_paths.empty()) {
    std::vector<std::string> ignored = manifest.ignore_paths;
    std::sort(ignored.begin(), ignored.end());
    ignored.erase(std::unique(ignored.begin(), ignored.end()), ignored.end());
    serialization["ignore_paths"] = ignored;
  }
  return {{"_type", kInTotoStatementType},
          {"subject", {{{"name", manifest.model_name}, {"digest", {{"sha256", root_digest(files)}}}}}},
          {"predicateType", kModelSignaturePredicateType},
          {"predicate", {{"serialization", serialization}, {"resources", resources}}}};
}

std::string sign_model(const ModelManifest& manifest, const EcdsaPrivateKey& key) {
  return sign_statement(model_signature_statement(manifest), key);
}

std::string sign_model_directory(const std::string& dir, const std::string& signature_path, const EcdsaPrivateKey& key,
                                 const std::vector<std::string>& extra_ignore_paths) {
  ModelManifest manifest;
  manifest.model_name = model_name_of(dir);
  manifest.ignore_paths = git_ignore_paths();
  manifest.ignore_paths.insert(manifest.ignore_paths.end(), extra_ignore_paths.begin(), extra_ignore_paths.end());
  const std::string signature = relative_inside(dir, signature_path);
  if (!signature.empty()) manifest.ignore_paths.push_back(signature);
  manifest.files = hash_model_directory(dir, manifest.ignore_paths);
  return sign_model(manifest, key);
}

ModelSignatureCheck verify_model_signature(const std::string& bundle_text, const std::string& origin,
                                           const std::vector<EcdsaPublicKey>& trusted_keys,
                                           const std::vector<SignedFile>& actual) {
  ModelSignatureCheck check = check_bundle(bundle_text, origin, trusted_keys);
  if (check.outcome != Outcome::kVerified && check.outcome != Outcome::kIntact) return check;
  return compare_files(std::move(check), origin, actual);
}

ModelSignatureCheck verify_model_directory(const std::string& dir, const std::string& signature_path,
                                           const std::vector<EcdsaPublicKey>& trusted_keys,
                                           const std::vector<std::string>& extra_ignore_paths) {
  ModelSignatureCheck check = check_bundle(read_signature_file(signature_path), signature_path, trusted_keys);
  if (check.outcome != Outcome::kVerified && check.outcome != Outcome::kIntact) return check;
  std::vector<std::string> ignored = check.manifest.ignore_paths;
  ignored.insert(ignored.end(), extra_ignore_paths.begin(), extra_ignore_paths.end());
  const std::string signature = relative_inside(dir, signature_path);
  if (!signature.empty()) ignored.push_back(signature);
  std::vector<SignedFile> files = hash_model_directory(dir, ignored, check.manifest.allow_symlinks);
  return compare_files(std::move(check), signature_path, files);
}

}  // namespace wmtp::experiment
