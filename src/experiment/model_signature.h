#pragma once
// Signatures in OpenSSF model signing's format (sigstore/model-transparency; what
// `model_signing sign key` writes and `model_signing verify key` reads, checked against 1.1.1):
// a Sigstore bundle v0.3 (JSON) holding the signing key's fingerprint as its public key hint and
// a DSSE envelope around an in-toto Statement v1 whose predicate (model signature v1.0) lists
// every file of the model with its sha256 ("files" serialization) and the paths it ignores; its
// one subject is the model's name with the sha256 of all file digests, in the resources' order.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/ecdsa_key.h"
#include "experiment/signed_bundle.h"

namespace wmtp::experiment {

inline constexpr const char* kModelSignaturePredicateType = "https://model_signing/signature/v1.0";

// One file of a model: its path relative to the model's root (POSIX, no "", "." or ".." part)
// and the sha256 hex of its bytes.
struct SignedFile {
  std::string path;
  std::string sha256;
};

// What a signature says of a model ("files" serialization, sha256).
struct ModelManifest {
  std::string model_name;                 // informative only: the directory's name
  std::vector<SignedFile> files;          // in model_signing's order (path_less)
  std::vector<std::string> ignore_paths;  // relative paths that are not part of the model
  bool allow_symlinks = false;
};

// model_signing's order of resources: pathlib's, path components compared one by one
// ("sub/g" before "sub.txt"), bytes compared unsigned (code point order for UTF-8).
bool path_less(const std::string& a, const std::string& b);
// True when path is one of ignore_paths or lies under one (whole components, as pathlib's
// is_relative_to: "a" ignores "a/b", not "ab").
bool is_ignored(const std::string& path, const std::vector<std::string>& ignore_paths);
// What `model_signing sign key` ignores unless --no-ignore-git-paths: .git, .gitattributes,
// .github, .gitignore (at the root).
const std::vector<std::string>& git_ignore_paths();

// The files of dir as model_signing's "files" serialization sees them: every regular file under
// it, hidden ones included, except those under ignore_paths (ignored directories are not entered),
// in path_less order. InputError naming the path on a symbolic link (unless allow_symlinks: then
// a link to a file is hashed as that file and a link to a directory is not entered, as
// model_signing does), a special file, or a file that cannot be read.
std::vector<SignedFile> hash_model_directory(const std::string& dir, const std::vector<std::string>& ignore_paths,
                                             bool allow_symlinks = false);

// The in-toto Statement. InputError on an empty model name, a path that is not relative POSIX,
// a path listed twice, or a digest that is not 64 lower-case hex; files are put in path_less order.
nlohmann::json model_signature_statement(const ModelManifest& manifest);

// The signature as Sigstore bundle JSON text (what model_signing writes to model.sig).
std::string sign_model(const ModelManifest& manifest, const EcdsaPrivateKey& key);

// Signs the directory dir as `model_signing sign key --signature SIGNATURE DIR` does: the
// signature file (when it lies inside dir), the git paths and extra_ignore_paths are ignored and
// named in the statement. Returns the bundle text; writing it to signature_path is the caller's.
std::string sign_model_directory(const std::string& dir, const std::string& signature_path, const EcdsaPrivateKey& key,
                                 const std::vector<std::string>& extra_ignore_paths = {});

struct ModelSignatureCheck {
  enum class Outcome {
    kVerified,      // a trusted key's signature; the files are those it signed
    kIntact,        // no trusted keys given: the files are those the statement lists, unauthenticated
    kMalformed,     // not a bundle, envelope or statement of this format, or inconsistent
    kUnsupported,   // a valid variant wmtp does not read (certificates, shards, other hashes)
    kUnknownKey,    // signed by a key that is not trusted (key_fingerprint names it)
    kBadSignature,  // the signature does not verify with the key it names: payload or signature altered
    kFilesDiffer,   // signature good (or unchecked), files differ: missing, extra or changed
  };
  Outcome outcome = Outcome::kMalformed;
  bool authenticated = false;              // a trusted key's signature verified
  std::string key_fingerprint;             // the key that verified, else the bundle's hint ("" if none)
  ModelManifest manifest;                  // what the statement says, once it could be read
  std::vector<std::string> missing_files;  // signed, absent now
  std::vector<std::string> extra_files;    // present, neither signed nor ignored
  std::vector<std::string> changed_files;  // present with another sha256
  std::string message;                     // one line naming what failed; a note for kIntact

  bool ok() const { return outcome == Outcome::kVerified; }
};

// Checks the bundle (origin names it in messages) against trusted_keys and a model's files now
// (every file, e.g. from hash_model_directory or a run's artifact list; the statement's ignored
// paths are dropped from it). Never throws on a bad bundle: the result names what failed. With
// no trusted keys the signature cannot be checked and the best outcome is kIntact.
ModelSignatureCheck verify_model_signature(const std::string& bundle_text, const std::string& origin,
                                           const std::vector<EcdsaPublicKey>& trusted_keys,
                                           const std::vector<SignedFile>& actual);
// The same for a directory on disk, as `model_signing verify key --signature SIGNATURE DIR`:
// the signature file, extra_ignore_paths and the statement's ignored paths are ignored.
// InputError when the signature file or a file of dir cannot be read.
ModelSignatureCheck verify_model_directory(const std::string& dir, const std::string& signature_path,
                                           const std::vector<EcdsaPublicKey>& trusted_keys,
                                           const std::vector<std::string>& extra_ignore_paths = {});

}  // namespace wmtp::experiment
