console.log("benchmark not written yet");
