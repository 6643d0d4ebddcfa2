// The netpol extension's client: it starts `netpol lsp` over stdio and hands .netpol files to
// it. Highlighting, brackets and snippets are static (package.json); everything the compiler
// knows (diagnostics and the rest) comes from the server.
import * as vscode from "vscode";
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from "vscode-languageclient/node";

let client: LanguageClient | undefined;

function serverCommand(): string {
  const configured = vscode.workspace.getConfiguration("netpol").get<string>("path");
  return configured && configured.trim() !== "" ? configured.trim() : "netpol";
}

async function startClient(): Promise<void> {
  const command = serverCommand();
  const serverOptions: ServerOptions = {
    run: { command, args: ["lsp"], transport: TransportKind.stdio },
    debug: { command, args: ["lsp"], transport: TransportKind.stdio },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "netpol" },
      { scheme: "untitled", language: "netpol" },
    ],
    synchronize: {
      // Imported files change what a file means, so the server hears about every .netpol file.
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.netpol"),
    },
  };
  client = new LanguageClient("netpol", "netpol language server", serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    void vscode.window.showErrorMessage(
      `netpol: could not start \`${command} lsp\` (${message}). Set "netpol.path" to the netpol binary.`,
    );
  }
}

async function stopClient(): Promise<void> {
  const old = client;
  client = undefined;
  if (old?.isRunning()) {
    await old.stop();
  }
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  await startClient();
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("netpol.path")) {
        await stopClient();
        await startClient();
      }
    }),
  );
}

export async function deactivate(): Promise<void> {
  await stopClient();
}
