" Vim syntax file for .netpol, the netpol connectivity language.
" The grammar it follows is grammar/netpol.pest in the netpol repository.
if exists('b:current_syntax')
  finish
endif
let s:cpo_save = &cpo
set cpo&vim

syn case match
" `-` belongs to names (rest-api, kube-dns, does-not-exist), and `/` joins a namespace to a
" workload (default/web), so neither half of such a word is taken for a keyword.
syn iskeyword @,48-57,_,192-255,-,/

" ---- names, numbers, addresses (later definitions win at the same column)
syn match netpolName       "\<\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*"
syn match netpolQualified  "\<\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*/\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contains=netpolNamespacePart
syn match netpolNamespacePart "\<\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*\ze/" contained nextgroup=netpolSlash
syn match netpolSlash      "/" contained
syn match netpolNumber     "\%([A-Za-z0-9_.:-]\)\@<!\d\+\%([A-Za-z0-9_.:/-]\)\@!"
syn match netpolPortRange  "\%([A-Za-z0-9_.:-]\)\@<!\d\+-\d\+\%([A-Za-z0-9_.:/-]\)\@!"
syn match netpolCidr       "\%([A-Za-z0-9_.:-]\)\@<!\d\+\%(\.\d\+\)\{3}\%(/\d\+\)\=\%([A-Za-z0-9_.:/-]\)\@!"
" IPv6 as in the pest grammar: hex digits, a colon, then hex digits, colons and dots.
syn match netpolCidr       "\%([A-Za-z0-9_.:-]\)\@<!\x*:[[:xdigit:]:.]*\%(/\d\+\)\=\%([A-Za-z0-9_.:/-]\)\@!"

" ---- operators and punctuation
syn match netpolAssign     "=" nextgroup=netpolAnyName skipwhite
syn match netpolNot        "!"
syn match netpolCompare    "==\|!=" nextgroup=netpolAnyName skipwhite
syn match netpolArrow      "->" nextgroup=netpolAnyName skipwhite
syn match netpolDelimiter  "[{}(),]"
syn match netpolDelimiter  "," nextgroup=netpolAnyName skipwhite

" ---- keywords
syn keyword netpolImport      import
syn keyword netpolConditional if else
syn keyword netpolDeclaration namespace nextgroup=netpolNamespaceName skipwhite
syn keyword netpolDeclaration workload namespaces nextgroup=netpolSelectorName skipwhite
syn keyword netpolDeclaration group nextgroup=netpolDeclName skipwhite
syn keyword netpolDeclaration param nextgroup=netpolParamName skipwhite
syn keyword netpolRule        accepts connects refuses never nothing on and except
syn keyword netpolRule        from to nextgroup=netpolAnyName skipwhite
syn keyword netpolRule        default deny
syn keyword netpolDirection   ingress egress all
syn keyword netpolExpect      expect nextgroup=netpolExpectPeer skipwhite
syn keyword netpolExpect      can cannot
syn keyword netpolExpect      reach nextgroup=netpolAnyName skipwhite
syn keyword netpolBoolean     true false
syn keyword netpolBuiltin     anywhere anything world cluster host kube-apiserver kube-dns
syn case ignore
syn keyword netpolProtocol    tcp udp sctp
syn case match

syn match netpolNamespaceName "\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contained
syn match netpolDeclName      "\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contained
syn match netpolSelectorName  "\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contained nextgroup=netpolSelector skipwhite
syn match netpolParamName     "\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contained nextgroup=netpolParamColon skipwhite
syn match netpolParamColon    ":" contained nextgroup=netpolParamType skipwhite
syn match netpolParamType     "\h\w*" contained

" A peer (or a value) after `from`, `to`, `reach`, `->`, `,`, `=`, `==` or `!=`, and the first
" peer of `expect`, may be any word, a keyword too (`web connects to expect`), but a built-in peer,
" `namespace NAME`, `nothing` and a boolean keep their own groups. A keyword that begins a line
" stays a keyword, even as a rule's subject (`default accepts nothing`): a Vim keyword wins over
" any match that starts at the same column.
syn match netpolAnyName    "\%(\%(namespace\|nothing\|true\|false\|anywhere\|anything\|world\|cluster\|host\|kube-apiserver\|kube-dns\)\%([A-Za-z0-9_-]\)\@!\)\@!\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*\%([A-Za-z0-9_./:-]\)\@!" contained
syn match netpolExpectPeer "\%(\%(namespace\|anywhere\|anything\|world\|cluster\|host\|kube-apiserver\|kube-dns\)\%([A-Za-z0-9_-]\)\@!\)\@!\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*\ze\s\+\%(can\|cannot\)\%([A-Za-z0-9_-]\)\@!" contained

" `W in S`: after a peer name, `in` and the name of a `namespaces` set. In a selector `in` is
" followed by `(`, never by a name.
syn match netpolPeerIn   "\%([A-Za-z0-9_]\s\+\)\@<=in\%([A-Za-z0-9_-]\)\@!\ze\s\+\h" nextgroup=netpolSetName skipwhite
syn match netpolSetName  "\h\%([A-Za-z0-9_]\|-[A-Za-z0-9_-]\@=\)*" contained

" ---- label selectors: `workload NAME { key: value, key in (a, b), key exists, !key }`
" Only here is `key: value` a label; elsewhere a colon belongs to an IPv6 address.
syn region netpolSelector matchgroup=netpolDelimiter start="{" end="}" contained
      \ contains=netpolComment,netpolString,netpolLabelKey,netpolSelectorOp,netpolSelectorNot,netpolValueList,netpolSelectorComma
syn match netpolLabelKey     "[A-Za-z0-9._/-]\+\%(\s*:\)\@=" contained nextgroup=netpolLabelColon skipwhite
syn match netpolLabelKey     "[A-Za-z0-9._/-]\+\%(\s\+\%(in\|notin\|exists\|does-not-exist\)\%([A-Za-z0-9_-]\)\@!\)\@=" contained
syn match netpolSelectorNot  "!" contained nextgroup=netpolLabelKeyBang skipwhite
syn match netpolLabelKeyBang "[A-Za-z0-9._/-]\+" contained
syn match netpolLabelColon   ":" contained nextgroup=netpolLabelValue,netpolString skipwhite
syn match netpolLabelValue   "[A-Za-z0-9._-]\+" contained
syn match netpolSelectorComma "," contained
syn keyword netpolSelectorOp in notin exists does-not-exist contained
syn region netpolValueList matchgroup=netpolDelimiter start="(" end=")" contained
      \ contains=netpolComment,netpolString,netpolListValue,netpolSelectorComma
syn match netpolListValue    "[A-Za-z0-9._-]\+" contained

" ---- strings (reasons, DNS names, parameter values) and comments
syn region netpolString start=+"+ skip=+\\.+ end=+"+ end=+$+ contains=netpolEscape oneline
syn match netpolEscape "\\." contained
syn keyword netpolTodo TODO FIXME XXX NOTE contained
syn match netpolComment "#.*$" contains=netpolTodo,@Spell

hi def link netpolComment       Comment
hi def link netpolTodo          Todo
hi def link netpolString        String
hi def link netpolEscape        SpecialChar
hi def link netpolImport        Include
hi def link netpolConditional   Conditional
hi def link netpolDeclaration   Keyword
hi def link netpolRule          Statement
hi def link netpolDirection     Keyword
hi def link netpolExpect        Statement
hi def link netpolBoolean       Boolean
hi def link netpolBuiltin       Constant
hi def link netpolProtocol      Type
hi def link netpolNumber        Number
hi def link netpolPortRange     Number
hi def link netpolCidr          Constant
hi def link netpolName          Identifier
hi def link netpolQualified     Identifier
hi def link netpolAnyName       Identifier
hi def link netpolPeerIn        Keyword
hi def link netpolSetName       Type
hi def link netpolExpectPeer    Identifier
hi def link netpolNamespacePart Structure
hi def link netpolNamespaceName Structure
hi def link netpolSlash         Delimiter
hi def link netpolDeclName      Function
hi def link netpolSelectorName  Function
hi def link netpolParamName     Identifier
hi def link netpolParamColon    Delimiter
hi def link netpolParamType     Type
hi def link netpolLabelKey      Tag
hi def link netpolLabelKeyBang  Tag
hi def link netpolLabelColon    Delimiter
hi def link netpolLabelValue    String
hi def link netpolListValue     String
hi def link netpolSelectorOp    Operator
hi def link netpolSelectorNot   Operator
hi def link netpolSelectorComma Delimiter
hi def link netpolAssign        Operator
hi def link netpolNot           Operator
hi def link netpolCompare       Operator
hi def link netpolArrow         Operator
hi def link netpolDelimiter     Delimiter

let b:current_syntax = 'netpol'
let &cpo = s:cpo_save
unlet s:cpo_save
