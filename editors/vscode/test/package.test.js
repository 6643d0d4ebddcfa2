// Checks of the extension's static contributions: the manifest, the language configuration
// and the snippets. Run with `node --test test/`.
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const readJson = (rel) => JSON.parse(fs.readFileSync(path.join(root, rel), "utf8"));

test("the manifest contributes the netpol language, grammar, snippets and setting", () => {
  const pkg = readJson("package.json");
  const [lang] = pkg.contributes.languages;
  assert.equal(lang.id, "netpol");
  assert.deepEqual(lang.extensions, [".netpol"]);
  assert.ok(fs.existsSync(path.join(root, lang.configuration)));
  const [grammar] = pkg.contributes.grammars;
  assert.equal(grammar.language, "netpol");
  assert.equal(grammar.scopeName, "source.netpol");
  assert.equal(readJson(grammar.path).scopeName, "source.netpol");
  const [snippets] = pkg.contributes.snippets;
  assert.equal(snippets.language, "netpol");
  assert.ok(fs.existsSync(path.join(root, snippets.path)));
  assert.equal(pkg.contributes.configuration.properties["netpol.path"].default, "netpol");
  assert.equal(pkg.main, "./out/extension.js");
  assert.ok(pkg.dependencies["vscode-languageclient"]);
});

test("the language configuration: comments, brackets, pairs", () => {
  const conf = readJson("language-configuration.json");
  assert.equal(conf.comments.lineComment, "#");
  assert.deepEqual(conf.brackets, [["{", "}"], ["(", ")"]]);
  const pairs = conf.autoClosingPairs.map((p) => p.open + p.close);
  assert.deepEqual(pairs, ["{}", "()", '""']);
});

test("the word pattern keeps names, label keys and CIDRs whole", () => {
  const { wordPattern } = readJson("language-configuration.json");
  const words = (text) => text.match(new RegExp(wordPattern, "g"));
  assert.deepEqual(words("rest-api connects to kube-dns"), ["rest-api", "connects", "to", "kube-dns"]);
  assert.deepEqual(words("{ app.kubernetes.io/name: kafka }"), ["app.kubernetes.io/name", "kafka"]);
  assert.deepEqual(words("from monitoring/prometheus, 10.0.0.0/8"), ["from", "monitoring/prometheus", "10.0.0.0/8"]);
  assert.deepEqual(words('"Kafka access" # note'), ["Kafka", "access", "note"]);
});

test("every snippet has a prefix, a body and a description", () => {
  const snippets = readJson("snippets/netpol.json");
  assert.ok(Object.keys(snippets).length >= 10);
  for (const [name, s] of Object.entries(snippets)) {
    assert.equal(typeof s.prefix, "string", name);
    assert.ok(Array.isArray(s.body) && s.body.length > 0, name);
    assert.equal(typeof s.description, "string", name);
  }
});
