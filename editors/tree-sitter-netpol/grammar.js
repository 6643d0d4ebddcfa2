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

/** `rule (, rule)*` where a newline may follow each comma. */
const commaSep1 = ($, rule) => seq(rule, repeat(seq(',', nl($), rule)));

module.exports = grammar({
  name: 'netpol',

  extras: ($) => [/[ \t]/, $.comment],

  word: ($) => $.identifier,

  conflicts: ($) => [],

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

    namespace_statement: ($) => seq('namespace', field('name', $.identifier)),

    namespace_block: ($) =>
      seq('namespace', field('name', $.identifier), field('body', alias($._item_block, $.block))),

    namespaces_declaration: ($) =>
      seq('namespaces', field('name', $.identifier), field('selector', $.selector)),

    workload_declaration: ($) =>
      seq('workload', field('name', $.identifier), field('selector', $.selector)),

    group_declaration: ($) =>
      seq('group', field('name', $.identifier), '=', nl($), field('members', $.peer_list)),

    param_declaration: ($) =>
      seq(
        'param',
        field('name', $.identifier),
        ':',
        field('type', alias($.identifier, $.type)),
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

    _literal: ($) =>
      choice($.string, $.cidr, $.port_range, $.number, $.boolean, $.identifier),

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
        field('parameter', $.identifier),
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

    connects: ($) =>
      seq(
        'connects',
        'to',
        choice(
          'nothing',
          seq(field('peers', $.peer_list), optional(seq('on', field('ports', $.port_spec)))),
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

    _port_item: ($) => choice($.port_range, $.number, alias($.identifier, $.named_port)),

    port_range: (_) => /[0-9]+-[0-9]+/,
    number: (_) => /[0-9]+/,

    // ---- peers --------------------------------------------------------------------------

    peer_list: ($) => commaSep1($, $._peer),

    _peer: ($) => choice($.builtin_peer, $.namespace_peer, $.dns_name, $.cidr_peer, $.ref_name),

    builtin_peer: (_) =>
      choice('anywhere', 'anything', 'world', 'cluster', 'host', 'kube-apiserver', 'kube-dns'),

    namespace_peer: ($) => seq('namespace', field('name', $.identifier)),

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

    ref_name: ($) =>
      choice(
        field('name', $.identifier),
        seq(
          field('namespace', $.identifier),
          token.immediate('/'),
          field('name', alias(token.immediate(IDENT), $.identifier)),
        ),
      ),

    // ---- lexical ------------------------------------------------------------------------

    identifier: (_) => IDENT,

    string: ($) =>
      seq('"', repeat(choice($.string_content, $.escape_sequence)), token.immediate('"')),

    string_content: (_) => token.immediate(prec(1, /[^"\\\r\n]+/)),

    escape_sequence: (_) => token.immediate(/\\[^\r\n]/),
  },
});
