// Hugging Face's tokenizers.js as the oracle of the fill-mask tokenizer tests
// (tests/Service.Tests/Inference/Tokenization). Reads one JSON request on stdin:
//   { "tokenizer": path of tokenizer.json, "config": tokenizer_config object,
//     "decode": [{ "ids": [...], "skip_special_tokens": bool }], "vocab": [token strings] }
// and writes { "decoded": [strings], "ids": [id or null per vocab token] } on stdout.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const request = JSON.parse(readFileSync(0, "utf8"));
const tokenizer = new Tokenizer(JSON.parse(readFileSync(request.tokenizer, "utf8")), request.config);
const decoded = (request.decode ?? []).map(d => tokenizer.decode(d.ids, { skip_special_tokens: d.skip_special_tokens }));
const ids = (request.vocab ?? []).map(token => tokenizer.token_to_id(token) ?? null);
process.stdout.write(JSON.stringify({ decoded, ids }));
