// The browser scenarios, by name. Each gets the page (already at the app's URL) and the input,
// throws on failure and returns what the pytest side asserts on as well.

const MESSAGES = ".copilotKitMessages";

async function send(page, text) {
  const input = page.locator(".copilotKitInput textarea");
  await input.fill(text);
  await input.press("Enter");
}

async function assistantSays(page, text) {
  const message = page.locator(`${MESSAGES} .copilotKitAssistantMessage`, { hasText: text });
  await message.first().waitFor();
  return (await message.first().innerText()).trim();
}

async function idle(page) {
  await page.locator('[data-test-id="copilot-chat-ready"]').waitFor();
}

// The assistant page is ready when its first suggestions are shown: a message sent before then
// makes react-ui abort the suggestions request (and log it as an error).
async function assistantPage(page, input) {
  await page.locator('[data-testid="assistant-page"]').waitFor();
  if (input.suggestions !== false) await page.locator('[data-test-id="suggestion"]').first().waitFor();
}

// The threads page: the list is shown once useThreads has loaded it.
async function threadsPage(page) {
  await page.locator('[data-testid="threads-page"]').waitFor();
  await page.locator('[data-testid="threads"][data-loading="false"]').waitFor({ state: "attached" });
}

async function threadNames(page) {
  return (await page.locator('[data-testid="thread"]').allInnerTexts()).map((t) => t.trim());
}

// The chat as the user sees it: each message's kind (user, assistant...) and text.
export async function transcript(page) {
  return page.locator(`${MESSAGES} .copilotKitMessage`).evaluateAll((els) => els.map((el) => {
    const kind = [...el.classList].find((c) => c !== "copilotKitMessage" && c.startsWith("copilotKit"));
    return [kind ?? "", el.innerText.trim()];
  }));
}

export const scenarios = {
  // A chat on the threads page starts a thread of the signed-in user; the list shows it once
  // the run has ended (the app fetches the list again then), without opening the page again.
  async threads_chat(page, input) {
    await threadsPage(page);
    const before = await threadNames(page);
    await send(page, input.text);
    const reply = await assistantSays(page, `You said: ${input.text}`);
    await idle(page);
    await page.locator('[data-testid="thread"]', { hasText: input.text }).first().waitFor();
    return { before, reply, threads: await threadNames(page) };
  },

  // The threads page as it opens: the user's threads, as the runtime lists them.
  async threads_list(page, input) {
    await threadsPage(page);
    if (input.expect) {
      await page.locator('[data-testid="thread"]', { hasText: input.expect }).first().waitFor();
    } else {
      await page.waitForTimeout(1500); // nothing may turn up late either
    }
    return { threads: await threadNames(page) };
  },

  // A streamed reply from the LLM agent (the fake model echoes).
  async chat(page, input) {
    await assistantPage(page, input);
    await send(page, "hello from the browser");
    const reply = await assistantSays(page, "You said: hello from the browser");
    await idle(page);
    return { reply };
  },

  // The model calls a frontend action; the browser runs it; the follow-up run answers.
  async frontend_action(page, input) {
    await assistantPage(page, input);
    await send(page, "setThemeColor lightblue");
    await page.locator('[data-testid="theme-color"]', { hasText: "lightblue" }).waitFor();
    const reply = await assistantSays(page, "The action returned");
    await idle(page);
    const background = await page.locator('[data-testid="assistant-page"]')
      .evaluate((el) => getComputedStyle(el).backgroundColor);
    return { reply, background };
  },

  // The model calls the backend action lookup_order; the runtime runs it, the model answers.
  async backend_action(page, input) {
    await assistantPage(page, input);
    await send(page, "please lookup_order 1");
    const reply = await assistantSays(page, "shipped");
    await idle(page);
    return { reply };
  },

  // Chat suggestions (useCopilotChatSuggestions) appear as buttons; clicking one sends it.
  async suggestions(page, input) {
    await assistantPage(page, input);
    const suggestion = page.locator('[data-test-id="suggestion"]').first();
    await suggestion.waitFor();
    const texts = await page.locator('[data-test-id="suggestion"]').allInnerTexts();
    await suggestion.click();
    const reply = await assistantSays(page, "You said:");
    await idle(page);
    return { suggestions: texts.map((t) => t.trim()), reply };
  },

  // CopilotTextarea: typing shows a completion from the runtime, Tab accepts it.
  async textarea(page, input) {
    await assistantPage(page, input);
    const editable = page.locator('[data-testid="copilot-textarea-editable"]');
    await editable.click();
    await page.keyboard.type("My order is late", { delay: 20 });
    const typed = "My order is late";
    await page.waitForFunction(
      ([sel, typed]) => {
        const el = document.querySelector(sel);
        return el && el.innerText.trim().length > typed.length;
      },
      ['[data-testid="copilot-textarea-editable"]', typed],
    );
    // the completion is inline ghost text (after a zero-width marker) until Tab accepts it
    const text = async () => (await editable.innerText()).replace(/[\uFEFF\n]/g, "").trim();
    const shown = await text();
    await page.keyboard.press("Tab");
    await page.keyboard.type("!");
    const accepted = await text();
    return { shown, accepted };
  },

  // The stop button ends a slow reply: the partial text stays, the chat is ready again.
  async stop(page, input) {
    await assistantPage(page, input);
    await send(page, "tell me a long story");
    await page.locator(`${MESSAGES} .copilotKitAssistantMessage`, { hasText: "word3" }).first().waitFor();
    await page.locator('[data-test-id="copilot-chat-request-in-progress"]').click();
    await idle(page);
    const partial = (await page.locator(`${MESSAGES} .copilotKitAssistantMessage`).last().innerText()).trim();
    return { partial };
  },

  // The LangGraph planner: shared state shows the steps, the interrupt asks, the answer resumes.
  async planner(page, input) {
    await page.locator('[data-testid="planner-page"]').waitFor();
    await send(page, "buy milk, bake bread, call mum");
    await page.locator('[data-testid="plan-steps"] li').nth(2).waitFor();
    const steps = await page.locator('[data-testid="plan-steps"] li').allInnerTexts();
    const statusBefore = await page.locator('[data-testid="plan-status"]').innerText();
    const prompt = page.locator('[data-testid="interrupt"]');
    await prompt.waitFor();
    const question = (await prompt.locator("p").innerText()).trim();
    await prompt.getByRole("button", { name: "Approve" }).click();
    await page.locator('[data-testid="plan-status"]', { hasText: "done" }).waitFor();
    const reply = await assistantSays(page, "Done: ran all 3 steps.");
    return { steps, statusBefore, question, reply };
  },
};
