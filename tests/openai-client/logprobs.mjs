// Usage: OPENAI_BASE_URL=http://127.0.0.1:PORT/v1 node logprobs.mjs MODEL
// Prints one JSON object: the greedy reply's logprobs.content, plain and gathered from a stream, as the openai package reads them.
import OpenAI from "openai";

const model = process.argv[2];
const client = new OpenAI({ apiKey: "not-needed", maxRetries: 0 });
const request = { model, messages: [{ role: "user", content: "Hello" }], temperature: 0, max_tokens: 24, logprobs: true, top_logprobs: 5 };

const completion = await client.chat.completions.create(request);

const stream = await client.chat.completions.create({ ...request, stream: true });
const streamed = [];
let text = "";
for await (const chunk of stream) {
  for (const choice of chunk.choices) {
    text += choice.delta.content ?? "";
    streamed.push(...(choice.logprobs?.content ?? []));
  }
}

console.log(JSON.stringify({ content: completion.choices[0].message.content, plain: completion.choices[0].logprobs.content, text, streamed }));
