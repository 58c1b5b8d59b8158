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

// n = 3 with a seed: each choice is reproducible (choice k samples with seed + k), plain and streamed.
const sampling = { model, messages, temperature: 0.9, max_tokens: 12, seed: 21 };
const choices = await client.chat.completions.create({ ...sampling, n: 3 });
const single = await client.chat.completions.create({ ...sampling, seed: 22 });
const choiceStream = await client.chat.completions.create({ ...sampling, n: 3, stream: true, stream_options: { include_usage: true } });
const streamedChoices = ["", "", ""], streamedFinish = [[], [], []];
let choiceUsage = null;
for await (const chunk of choiceStream) {
  for (const choice of chunk.choices) {
    streamedChoices[choice.index] += choice.delta.content ?? "";
    if (choice.finish_reason) streamedFinish[choice.index].push(choice.finish_reason);
  }
  choiceUsage = chunk.usage ?? choiceUsage;
}

let error = null;
try {
  await client.chat.completions.create({ model, messages, n: 9 });
} catch (e) {
  error = { status: e.status, message: e.message, param: e.param, type: e.type };
}

console.log(JSON.stringify({
  content: completion.choices[0].message.content,
  finish_reason: completion.choices[0].finish_reason,
  usage: completion.usage,
  streamed, stream_finish_reason: finishReason, stream_usage: usage, roles, error,
  choices: choices.choices.map(c => ({ index: c.index, content: c.message.content, finish_reason: c.finish_reason })),
  choices_usage: choices.usage, seed_plus_one: single.choices[0].message.content,
  streamed_choices: streamedChoices, streamed_finish: streamedFinish, streamed_choices_usage: choiceUsage,
}));
