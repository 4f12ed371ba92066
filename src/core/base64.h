#pragma once
// Base64 (RFC 4648) as DSSE envelopes and Sigstore bundles carry bytes in JSON.
#include <optional>
#include <string>
#include <string_view>

namespace wmtp {

// Standard alphabet, padded: what protobuf's JSON mapping and the DSSE spec write.
std::string base64_encode(std::string_view bytes);
// Standard or URL-safe alphabet, padding optional (protobuf's JSON parsers accept both);
// nullopt on any other character, misplaced padding or a dangling final character.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace wmtp
