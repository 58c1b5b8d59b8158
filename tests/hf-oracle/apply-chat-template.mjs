// transformers' apply_chat_template with Hugging Face's JS code: the checkpoint's chat_template rendered by
// @huggingface/jinja with the variables transformers passes (messages, add_generation_prompt, tools and
// documents as None, the special tokens of tokenizer_config.json), then, when the directory has a
// tokenizer.json, encoded by @huggingface/tokenizers without added special tokens (tokenize=True). As
// transformers' PreTrainedTokenizerFast does at load, tokenizer_config.json's added_tokens_decoder entries that
// tokenizer.json lacks are added first (InternLM2's files declare their role markers only there).
// stdin: a JSON array of {"directory", "messages", "add_generation_prompt", "tokenize" (default true)};
// stdout: a JSON array of {"text", "ids"} or {"error"}.
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";

const SPECIAL = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"];
const content = (t) => (t && typeof t === "object" ? t.content : t);

const cache = new Map();
const once = (key, make) => (cache.has(key) ? cache.get(key) : cache.set(key, make()).get(key));

function withDeclaredAddedTokens(tokenizerJson, config) {
  const added = (tokenizerJson.added_tokens ??= []);
  const known = new Set(added.map((t) => t.id));
  for (const [id, token] of Object.entries(config.added_tokens_decoder ?? {}).sort((a, b) => a[0] - b[0]))
    if (!known.has(Number(id)))
      added.push({ id: Number(id), content: token.content, single_word: !!token.single_word, lstrip: !!token.lstrip,
        rstrip: !!token.rstrip, normalized: token.normalized ?? !token.special, special: !!token.special });
  return tokenizerJson;
}

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ directory, messages, add_generation_prompt, tokenize = true }) => {
  try {
    const config = once("config:" + directory, () => JSON.parse(readFileSync(join(directory, "tokenizer_config.json"), "utf8")));
    let source = config.chat_template;
    if (existsSync(join(directory, "chat_template.jinja"))) source = readFileSync(join(directory, "chat_template.jinja"), "utf8");
    else if (Array.isArray(source)) source = source.find((t) => t.name === "default").template;
    const context = { messages, add_generation_prompt, tools: null, documents: null };
    for (const name of SPECIAL) if (content(config[name]) != null) context[name] = content(config[name]);
    if (Array.isArray(config.additional_special_tokens)) context.additional_special_tokens = config.additional_special_tokens.map(content);
    const text = new Template(source).render(context);
    let ids = null;
    if (tokenize && existsSync(join(directory, "tokenizer.json"))) {
      const tokenizer = once("tokenizer:" + directory, () => new Tokenizer(withDeclaredAddedTokens(JSON.parse(readFileSync(join(directory, "tokenizer.json"), "utf8")), config), config));
      ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
    }
    return { text, ids };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(results));
