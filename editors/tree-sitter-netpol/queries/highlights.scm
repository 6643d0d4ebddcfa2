; Highlights for .netpol. Every node is captured by at most one pattern, so the result does not
; depend on whether an editor lets the first or the last matching pattern win.

(comment) @comment

; ---- keywords

"import" @keyword.import

[
  "if"
  "else"
] @keyword.conditional

[
  "namespace"
  "namespaces"
  "workload"
  "group"
  "param"
] @keyword

[
  "accepts"
  "connects"
  "refuses"
  "never"
  "nothing"
  "from"
  "to"
  "on"
  "and"
  "except"
  "default"
  "deny"
  "ingress"
  "egress"
  "all"
  "expect"
  "can"
  "cannot"
  "reach"
] @keyword

[
  "in"
  "notin"
  "exists"
  "does-not-exist"
] @keyword.operator

; ---- literals

(protocol) @type.builtin

(builtin_peer) @constant.builtin

(boolean) @boolean

[
  (number)
  (port_range)
] @number

(cidr) @constant

(named_port) @property

(escape_sequence) @string.escape

(dns_name
  (string) @string.special)

(rule
  reason: (string) @string)

(edge
  reason: (string) @string)

(default_deny
  reason: (string) @string)

(import
  path: (string) @string.special)

(param_declaration
  default: (string) @string)

(condition
  value: (string) @string)

(label_equals
  value: (string) @string)

(value_list
  (string) @string)

; ---- labels

(label_key) @property

(label_value) @string.special

; ---- names

(workload_declaration
  name: (identifier) @type)

(namespaces_declaration
  name: (identifier) @type)

(group_declaration
  name: (identifier) @type)

(namespace_statement
  name: (identifier) @module)

(namespace_block
  name: (identifier) @module)

(namespace_peer
  name: (identifier) @module)

(workload_in
  namespaces: (identifier) @type)

(ref_name
  namespace: (identifier) @module)

(ref_name
  name: (identifier) @variable)

(param_declaration
  name: (identifier) @variable.parameter)

(param_declaration
  type: (type) @type.builtin)

(param_declaration
  default: (identifier) @variable)

(condition
  parameter: (identifier) @variable.parameter)

(condition
  value: (identifier) @variable)

; ---- operators and punctuation

[
  "->"
  "=="
  "!="
  "="
  "!"
] @operator

(negation) @operator

[
  "{"
  "}"
  "("
  ")"
] @punctuation.bracket

[
  ","
  ":"
  "/"
] @punctuation.delimiter
