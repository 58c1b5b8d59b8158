// Renders chat templates with Hugging Face's @huggingface/jinja (the oracle of the template tests).
// stdin: a JSON array of {"template": string, "context": object}; stdout: a JSON array of
// {"output": string} or {"error": string}, one per case, in order.
import { Template } from "@huggingface/jinja";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = JSON.parse(input).map(({ template, context }) => {
  try {
    return { output: new Template(template).render(context) };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(results));
