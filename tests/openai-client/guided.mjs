// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node guided.mjs MODEL 'SCHEMA_JSON' 'CHOICES_JSON'
// Prints one JSON object: a json_schema reply (plain and streamed) and a structured_outputs.choice reply, as the openai package returns them.
import OpenAI from "openai";

const [model, schema, choices] = [process.argv[2], JSON.parse(process.argv[3]), JSON.parse(process.argv[4])];
const client = new OpenAI({ apiKey: "not-needed", maxRetries: 0 });
const base = { model, messages: [{ role: "user", content: "Hi" }], temperature: 1, top_p: 1, seed: 3, max_tokens: 40 };
const response_format = { type: "json_schema", json_schema: { name: "reply", schema, strict: true } };

const plain = await client.chat.completions.create({ ...base, response_format });
let streamed = "";
for await (const chunk of await client.chat.completions.create({ ...base, response_format, stream: true }))
  for (const choice of chunk.choices) streamed += choice.delta.content ?? "";
// structured_outputs is vLLM's field: the openai package sends unknown body fields as they are.
const choice = await client.chat.completions.create({ ...base, structured_outputs: { choice: choices } });

console.log(JSON.stringify({
  json: plain.choices[0].message.content, json_finish: plain.choices[0].finish_reason, streamed,
  choice: choice.choices[0].message.content,
}));
