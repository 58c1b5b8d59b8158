// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node chat.mjs MODEL
// Prints one JSON object: the plain completion, the streamed text and its last chunk, and an error's fields.
import OpenAI from "openai";

const model = process.argv[2];
const client = new OpenAI({ apiKey: "not-needed", maxRetries: 0 });
const messages = [{ role: "user", content: "Hello" }];

const completion = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 24 });

const stream = await client.chat.completions.create({
  model, messages, temperature: 0, max_tokens: 24, stream: true, stream_options: { include_usage: true },
});
let streamed = "", finishReason = null, usage = null, roles = [];
for await (const chunk of stream) {
  for (const choice of chunk.choices) {
    if (choice.delta.role) roles.push(choice.delta.role);
    streamed += choice.delta.content ?? "";
    finishReason = choice.finish_reason ?? finishReason;
  }
  usage = chunk.usage ?? usage;
}

let error = null;
try {
  await client.chat.completions.create({ model, messages, n: 2 });
} catch (e) {
  error = { status: e.status, message: e.message, param: e.param, type: e.type };
}

console.log(JSON.stringify({
  content: completion.choices[0].message.content,
  finish_reason: completion.choices[0].finish_reason,
  usage: completion.usage,
  streamed, stream_finish_reason: finishReason, stream_usage: usage, roles, error,
}));
