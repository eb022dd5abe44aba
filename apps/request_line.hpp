#pragma once
// Whether the first bytes of a connection can be an HTTP request line, judged as they arrive:
// the gate in front of the server (http_gate.hpp) answers 400 as soon as they cannot.
#include <string_view>

namespace digitnet::cli {

// What the first bytes of a connection say of its request line (RFC 9112, section 3).
struct RequestLineCheck {
  enum Verdict { good, incomplete, bad } verdict = incomplete;
  const char* why = "";  // for `bad`: what is wrong, for the 400's message
};
// `good` once a whole line (a method, a target, HTTP/x.y, a line end) is in; `incomplete` while
// what is in could still become one; `bad` as soon as it cannot.
RequestLineCheck check_request_line(std::string_view bytes);
// A method's characters: one or more tchar (RFC 9110, section 5.6.2).
bool is_http_token(std::string_view text);

}  // namespace digitnet::cli
