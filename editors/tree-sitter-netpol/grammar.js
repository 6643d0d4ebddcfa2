/**
 * @file Tree-sitter grammar for .netpol, the netpol connectivity language.
 * @license Apache-2.0
 *
 * It follows grammar/netpol.pest in the netpol repository. As there, one statement takes one
 * line, and a statement continues on the next line only after `,`, `=`, `{` or `(` (and
 * before `}` or `)`), so a trailing named port never swallows the next line's subject.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

const IDENT = /[A-Za-z]([A-Za-z0-9_]|-+[A-Za-z0-9_])*/;

/** The keywords of grammar/netpol.pest (its `kw_*` rules). */
const KEYWORDS = [
  'import', 'namespace', 'namespaces', 'workload', 'group', 'param', 'if', 'else', 'default',
  'expect', 'accepts', 'connects', 'refuses', 'never', 'nothing', 'from', 'to', 'on', 'and',
  'except', 'deny', 'ingress', 'egress', 'all', 'can', 'cannot', 'reach', 'in', 'notin',
  'exists', 'does-not-exist', 'true', 'false',
];

/** The built-in peers (the pest grammar's `builtin` rule). */
const BUILTIN_PEERS = [
  'anywhere', 'anything', 'world', 'cluster', 'host', 'kube-apiserver', 'kube-dns',
];

/**
 * A name. In the pest grammar a name is any identifier, keywords and built-in peer names
 * included (`workload default { ... }` declares a workload named `default`), and which reading
 * wins is decided by the order of its choices. Here the identifier token is lexed as a keyword
 * wherever that keyword is valid, so a name also accepts each keyword token, shown as an
 * `identifier` node (or an `as` node). `except` leaves out the words that are not names at
 * this place in the pest grammar.
 *
 * @param {GrammarSymbols<string>} $
 * @param {{as?: RuleOrLiteral, except?: string[]}} options
 */
const anyName = ($, { as = undefined, except = [] } = {}) =>
  choice(
    as === undefined ? $.identifier : alias($.identifier, as),
    ...[...KEYWORDS, ...BUILTIN_PEERS]
      .filter((w) => !except.includes(w))
      .map((w) => alias(w, as === undefined ? $.identifier : as)),
  );

/** A word in any case: protocols are case-insensitive (`tcp`, `TCP`). */
const anyCase = (word) =>
  new RegExp(
    word
      .split('')
      .map((c) => `[${c.toLowerCase()}${c.toUpperCase()}]`)
      .join(''),
  );

/** Newlines allowed here (after `,`, `=`, `{` or `(`, or before `}` or `)`). */
const nl = ($) => optional($._nl);

/**
 * `name` or `namespace/name`. There is no space around the `/`, and no keyword is valid right
 * after it, so the name after it is any word.
 *
 * @param {GrammarSymbols<string>} $
 * @param {RuleOrLiteral} name
 * @param {RuleOrLiteral} namespace
 */
const refName = ($, name, namespace) =>
  choice(
    field('name', name),
    seq(
      field('namespace', namespace),
      token.immediate('/'),
      field('name', alias(token.immediate(IDENT), $.identifier)),
    ),
  );

/** `rule (, rule)*` where a newline may follow each comma. */
const commaSep1 = ($, rule) => seq(rule, repeat(seq(',', nl($), rule)));

module.exports = grammar({
  name: 'netpol',

  extras: ($) => [/[ \t]/, $.comment],

  word: ($) => $.identifier,

  // No word is reserved in general: a name may be any word (see anyName). A port list ends at
  // `from`, `to`, `on` and `and`, which are never named ports, as in the pest grammar's
  // `named_port`.
  reserved: {
    global: (_) => [],
    port: (_) => ['from', 'to', 'on', 'and'],
  },

  // At the start of a statement a keyword may begin a declaration, an `if` or an `expect`, or
  // be the name of a rule's subject or an edge's first peer (`workload accepts nothing`,
  // `expect -> web`). The pest grammar tries each in turn; here both readings are kept until
  // the next word or two decide between them.
  conflicts: ($) => [
    [$.namespace_statement, $.namespace_block, $.namespace_peer, $._name],
    [$.namespaces_declaration, $._name],
    [$.workload_declaration, $._name],
    [$.group_declaration, $._name],
    [$.param_declaration, $._name],
    [$.if_block, $._name],
    [$.expect_statement, $._name],
    [$.namespace_peer, $._name],
    [$._name, $._peer_namespace],
    // The same, for an edge whose first peer is `W in S` (`workload in teams -> db`).
    [$.namespaces_declaration, $._peer_name],
    [$.workload_declaration, $._peer_name],
    [$.group_declaration, $._peer_name],
    [$.param_declaration, $._peer_name],
    [$.if_block, $._peer_name],
    [$.expect_statement, $._peer_name],
  ],

  rules: {
    source_file: ($) =>
      seq(
        repeat(choice($._newline, seq($._top_item, $._newline))),
        optional($._top_item),
      ),

    _newline: (_) => /\r?\n/,

    _nl: ($) => repeat1($._newline),

    comment: (_) => token(seq('#', /[^\r\n]*/)),

    _top_item: ($) =>
      choice($.import, $.param_declaration, $.namespace_block, $.namespace_statement, $._item),

    _item: ($) =>
      choice(
        $.namespaces_declaration,
        $.workload_declaration,
        $.group_declaration,
        $.if_block,
        $.default_deny,
        $.expect_statement,
        $.rule,
        $.edge,
      ),

    /** `{ item* }`: the last item may end at the `}` instead of a newline. */
    _item_block: ($) =>
      seq(
        '{',
        repeat(choice($._newline, seq($._item, $._newline))),
        optional($._item),
        '}',
      ),

    // ---- declarations -------------------------------------------------------------------

    import: ($) => seq('import', field('path', $.string)),

    namespace_statement: ($) => seq('namespace', field('name', $._name)),

    namespace_block: ($) =>
      seq('namespace', field('name', $._name), field('body', alias($._item_block, $.block))),

    namespaces_declaration: ($) =>
      seq('namespaces', field('name', $._name), field('selector', $.selector)),

    workload_declaration: ($) =>
      seq('workload', field('name', $._name), field('selector', $.selector)),

    group_declaration: ($) =>
      seq('group', field('name', $._name), '=', nl($), field('members', $.peer_list)),

    param_declaration: ($) =>
      seq(
        'param',
        field('name', $._name),
        ':',
        field('type', $._type_name),
        optional(seq('=', field('default', $._literal))),
      ),

    // ---- selectors ----------------------------------------------------------------------

    selector: ($) =>
      seq(
        '{',
        nl($),
        optional(seq(commaSep1($, $._selector_term), optional(','), nl($))),
        '}',
      ),

    _selector_term: ($) =>
      choice(
        $.label_equals,
        $.label_in,
        $.label_not_in,
        $.label_exists,
        $.label_does_not_exist,
      ),

    label_equals: ($) => seq(field('key', $.label_key), ':', field('value', $._label_value)),
    label_in: ($) => seq(field('key', $.label_key), 'in', field('values', $.value_list)),
    label_not_in: ($) => seq(field('key', $.label_key), 'notin', field('values', $.value_list)),
    label_exists: ($) => seq(field('key', $.label_key), 'exists'),
    label_does_not_exist: ($) =>
      choice(seq(field('key', $.label_key), 'does-not-exist'), seq('!', field('key', $.label_key))),

    value_list: ($) =>
      seq('(', nl($), commaSep1($, $._label_value), optional(','), nl($), ')'),

    label_key: (_) => /[A-Za-z0-9._\/-]+/,
    _label_value: ($) => choice($.string, $.label_value),
    label_value: (_) => /[A-Za-z0-9._-]+/,

    // `true` and `false` are booleans, never names, as in the pest grammar's `literal`.
    _literal: ($) =>
      choice(
        $.string,
        $.cidr,
        $.port_range,
        $.number,
        $.boolean,
        anyName($, { except: ['true', 'false'] }),
      ),

    boolean: (_) => choice('true', 'false'),

    // ---- conditionals -------------------------------------------------------------------

    if_block: ($) =>
      seq(
        'if',
        field('condition', $.condition),
        field('consequence', alias($._item_block, $.block)),
        optional(
          seq('else', field('alternative', choice($.if_block, alias($._item_block, $.block)))),
        ),
      ),

    condition: ($) =>
      seq(
        optional(alias('!', $.negation)),
        field('parameter', $._name),
        optional(seq(field('operator', choice('==', '!=')), field('value', $._literal))),
      ),

    // ---- rules --------------------------------------------------------------------------

    rule: ($) =>
      seq(
        field('subject', $.ref_name),
        choice($.accepts, $.connects, $.refuses, $.never_connects),
        optional(field('reason', $.string)),
      ),

    accepts: ($) =>
      seq(
        'accepts',
        choice(
          'nothing',
          seq(optional(field('ports', $.port_spec)), 'from', field('peers', $.peer_list)),
        ),
      ),

    // `nothing` right after `connects to` is the keyword (`a connects to nothing, b` is an
    // error in the pest grammar, which tries `nothing` first); later peers may be named so.
    connects: ($) =>
      seq(
        'connects',
        'to',
        choice(
          'nothing',
          seq(
            field('peers', alias($._connects_peer_list, $.peer_list)),
            optional(seq('on', field('ports', $.port_spec))),
          ),
        ),
      ),

    refuses: ($) =>
      seq('refuses', optional(field('ports', $.port_spec)), 'from', field('peers', $.peer_list)),

    never_connects: ($) =>
      seq(
        'never',
        'connects',
        'to',
        field('peers', $.peer_list),
        optional(seq('on', field('ports', $.port_spec))),
      ),

    edge: ($) =>
      seq(
        field('from', $.peer_list),
        '->',
        field('to', $.peer_list),
        optional(seq('on', field('ports', $.port_spec))),
        optional(field('reason', $.string)),
      ),

    default_deny: ($) =>
      seq(
        'default',
        'deny',
        field('direction', $.direction),
        optional(field('reason', $.string)),
      ),

    direction: (_) => choice('ingress', 'egress', 'all'),

    expect_statement: ($) =>
      seq(
        'expect',
        field('source', $._peer),
        field('verdict', $.verdict),
        'reach',
        field('destination', $._peer),
        optional(seq('on', field('ports', $.port_spec))),
      ),

    verdict: (_) => choice('can', 'cannot'),

    // ---- ports --------------------------------------------------------------------------

    port_spec: ($) => seq($.protocol_ports, repeat(seq('and', $.protocol_ports))),

    protocol_ports: ($) =>
      seq(field('protocol', $.protocol), optional(commaSep1($, $._port_item))),

    protocol: (_) => token(choice(...['tcp', 'udp', 'sctp'].map(anyCase))),

    _port_item: ($) =>
      choice($.port_range, $.number, reserved('port', alias($.identifier, $.named_port))),

    port_range: (_) => /[0-9]+-[0-9]+/,
    number: (_) => /[0-9]+/,

    // ---- peers --------------------------------------------------------------------------

    peer_list: ($) => commaSep1($, $._peer),

    _connects_peer_list: ($) =>
      seq(
        choice(
          $.builtin_peer,
          $.namespace_peer,
          $.dns_name,
          $.cidr_peer,
          alias($._connects_workload_in, $.workload_in),
          alias($._connects_peer_ref, $.ref_name),
        ),
        repeat(seq(',', nl($), $._peer)),
      ),

    // As in the pest grammar, a built-in peer name is the built-in peer (`world/x` is an error
    // there), and `namespace` followed by a name is a namespace.
    _peer: ($) =>
      choice(
        $.builtin_peer,
        $.namespace_peer,
        $.dns_name,
        $.cidr_peer,
        $.workload_in,
        alias($._peer_ref, $.ref_name),
      ),

    builtin_peer: (_) => choice(...BUILTIN_PEERS),

    // `W in S`: the pods workload W's selector picks in the namespaces of the set S.
    workload_in: ($) =>
      seq(field('workload', alias($._peer_ref, $.ref_name)), 'in', field('namespaces', $._name)),

    _connects_workload_in: ($) =>
      seq(
        field('workload', alias($._connects_peer_ref, $.ref_name)),
        'in',
        field('namespaces', $._name),
      ),

    namespace_peer: ($) => seq('namespace', field('name', $._name)),

    dns_name: ($) => $.string,

    cidr_peer: ($) =>
      seq(
        field('network', $.cidr),
        optional(seq('except', field('except', choice($.cidr_list, $.cidr)))),
      ),

    cidr_list: ($) => seq('(', nl($), commaSep1($, $.cidr), optional(','), nl($), ')'),

    cidr: (_) =>
      token(
        choice(
          /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(\/[0-9]+)?/,
          // As in the pest grammar: hex digits, a colon, then hex digits, colons and dots.
          /[0-9A-Fa-f]*:[0-9A-Fa-f:.]*(\/[0-9]+)?/,
        ),
      ),

    /** A rule's subject: any name, built-in peer names too. */
    ref_name: ($) => refName($, $._name, $._name),

    // A peer is not named after a built-in peer (`world/x` is the built-in peer `world` and
    // then an error in the pest grammar), and `namespace` followed by any word is a namespace
    // peer: the name `namespace` has a lower precedence than that word.
    _peer_ref: ($) => refName($, $._peer_name, $._peer_namespace),

    _peer_name: ($) =>
      choice(
        anyName($, { except: [...BUILTIN_PEERS, 'namespace'] }),
        prec(-1, alias('namespace', $.identifier)),
      ),

    _peer_namespace: ($) => anyName($, { except: BUILTIN_PEERS }),

    // The first peer after `connects to` is not named `nothing` either.
    _connects_peer_ref: ($) => refName($, $._connects_peer_name, $._connects_peer_namespace),

    _connects_peer_name: ($) =>
      choice(
        anyName($, { except: [...BUILTIN_PEERS, 'namespace', 'nothing'] }),
        prec(-1, alias('namespace', $.identifier)),
      ),

    _connects_peer_namespace: ($) => anyName($, { except: [...BUILTIN_PEERS, 'nothing'] }),

    // ---- lexical ------------------------------------------------------------------------

    _name: ($) => anyName($),

    _type_name: ($) => anyName($, { as: $.type }),

    identifier: (_) => IDENT,

    string: ($) =>
      seq('"', repeat(choice($.string_content, $.escape_sequence)), token.immediate('"')),

    string_content: (_) => token.immediate(prec(1, /[^"\\\r\n]+/)),

    escape_sequence: (_) => token.immediate(/\\[^\r\n]/),
  },
});
