import { describe, expect, it } from "vitest";
import { ConfigError } from "../src/errors.js";
import { TypedEventEmitter } from "../src/typed-event-emitter.js";

interface Events {
  tick: { n: number };
  error: unknown;
  [event: string]: unknown;
}

class Emitter extends TypedEventEmitter<Events> {
  fire<E extends keyof Events & string>(event: E, payload: Events[E]): boolean {
    return this.emit(event, payload);
  }
}

describe("TypedEventEmitter", () => {
  it("calls listeners in the order they were added, one added twice twice, and returns whether there were any", () => {
    const emitter = new Emitter();
    const calls: string[] = [];
    const first = ({ n }: { n: number }) => calls.push(`first ${n}`);
    emitter.on("tick", first);
    emitter.on("tick", ({ n }) => calls.push(`second ${n}`));
    emitter.on("tick", first);
    expect(emitter.fire("tick", { n: 1 })).toBe(true);
    expect(calls).toEqual(["first 1", "second 1", "first 1"]);
    expect(emitter.listenerCount("tick")).toBe(3);
    expect(emitter.fire("other", null)).toBe(false);
  });

  it("off removes the latest addition of a listener; the function on returns does the same", () => {
    const emitter = new Emitter();
    const calls: string[] = [];
    const first = () => calls.push("first");
    emitter.on("tick", first);
    const removeSecond = emitter.on("tick", () => calls.push("second"));
    emitter.on("tick", first);
    emitter.off("tick", first);
    emitter.fire("tick", { n: 1 });
    expect(calls).toEqual(["first", "second"]);
    removeSecond();
    emitter.off("tick", first);
    emitter.off("tick", first);
    expect(emitter.listenerCount("tick")).toBe(0);
    expect(emitter.fire("tick", { n: 2 })).toBe(false);
  });

  it("an emit calls the listeners there were when it began, whatever they add or remove meanwhile", () => {
    const emitter = new Emitter();
    const calls: string[] = [];
    const late = () => calls.push("late");
    const second = () => calls.push("second");
    emitter.on("tick", () => {
      calls.push("first");
      emitter.off("tick", second);
      emitter.on("tick", late);
    });
    emitter.on("tick", second);
    emitter.fire("tick", { n: 1 });
    expect(calls).toEqual(["first", "second"]);
    calls.length = 0;
    emitter.fire("tick", { n: 2 });
    expect(calls).toEqual(["first", "late"]);
  });

  it("a listener that throws does not reach the emitter; the others still run and error listeners hear of it", async () => {
    const emitter = new Emitter();
    const calls: string[] = [];
    const failure = new Error("listener failed");
    emitter.on("tick", () => {
      throw failure;
    });
    emitter.on("tick", () => calls.push("after"));
    const reported = new Promise((resolve) => emitter.on("error", resolve));
    expect(() => emitter.fire("tick", { n: 1 })).not.toThrow();
    expect(calls).toEqual(["after"]);
    await expect(reported).resolves.toBe(failure);
  });

  it("an error listener that throws, or no error listener at all, drops the error", async () => {
    const emitter = new Emitter();
    emitter.on("tick", () => {
      throw new Error("listener failed");
    });
    emitter.fire("tick", { n: 1 });
    emitter.on("error", () => {
      throw new Error("error listener failed");
    });
    emitter.fire("tick", { n: 2 });
    // Both reports run in microtasks; reaching the next macrotask means neither escaped.
    await new Promise((resolve) => setImmediate(resolve));
    expect(emitter.listenerCount("error")).toBe(1);
  });

  it("once resolves with the first payload that passes the filter and then stops listening", async () => {
    const emitter = new Emitter();
    const next = emitter.once("tick", ({ n }) => n > 1);
    emitter.fire("tick", { n: 1 });
    expect(emitter.listenerCount("tick")).toBe(1);
    emitter.fire("tick", { n: 2 });
    await expect(next).resolves.toEqual({ n: 2 });
    expect(emitter.listenerCount("tick")).toBe(0);
  });

  it("once rejects with the error of a filter that throws, and stops listening", async () => {
    const emitter = new Emitter();
    const boom = new Error("filter failed");
    const waiting = emitter.once("tick", () => {
      throw boom;
    });
    emitter.fire("tick", { n: 1 });
    await expect(waiting).rejects.toBe(boom);
    expect(emitter.listenerCount("tick")).toBe(0);
  });

  it("once rejects when its signal aborts, before or while waiting, and stops listening", async () => {
    const emitter = new Emitter();
    const aborted = AbortSignal.abort(new Error("gave up"));
    await expect(emitter.once("tick", undefined, aborted)).rejects.toThrow("gave up");
    const controller = new AbortController();
    const waiting = emitter.once("tick", undefined, controller.signal);
    expect(emitter.listenerCount("tick")).toBe(1);
    controller.abort(new Error("stopped waiting"));
    await expect(waiting).rejects.toThrow("stopped waiting");
    expect(emitter.listenerCount("tick")).toBe(0);
  });

  it("on refuses a listener that is not a function with a ConfigError, adding nothing", () => {
    const emitter = new Emitter();
    for (const listener of [null, undefined, "listener", 5, {}]) {
      expect(() => emitter.on("tick", listener as never)).toThrow(ConfigError);
    }
    expect(() => emitter.on("tick", null as never)).toThrow('on("tick", listener) expects a listener function, got null');
    expect(emitter.listenerCount("tick")).toBe(0);
    expect(emitter.fire("tick", { n: 1 })).toBe(false);
  });

  it("once rejects a filter that is not a function, or a signal that is not an AbortSignal, with a ConfigError, adding nothing", async () => {
    const emitter = new Emitter();
    for (const filter of [null, "notfn", 5, {}]) {
      await expect(emitter.once("tick", filter as never)).rejects.toThrow(ConfigError);
    }
    await expect(emitter.once("tick", "notfn" as never)).rejects.toThrow('once("tick", filter) expects a filter function or nothing, got "notfn"');
    for (const signal of [null, "notasignal", 5, {}, new AbortController()]) {
      await expect(emitter.once("tick", undefined, signal as never)).rejects.toThrow(ConfigError);
    }
    await expect(emitter.once("tick", () => true, "notasignal" as never)).rejects.toThrow(/once\("tick", filter, signal\) expects an AbortSignal or nothing, got "notasignal"/);
    expect(emitter.listenerCount("tick")).toBe(0);
  });
});
