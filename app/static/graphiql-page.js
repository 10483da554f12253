// Relata's GraphiQL page (inlined into graphiql.html; its hash is in the page's CSP).
// The token arrives in the URL fragment (/graphql#token=rlt....), which browsers never send to
// the server: it is moved into GraphiQL's headers, removed from the address bar, and the
// headers are kept in localStorage for reloads.
(function () {
  "use strict";
  var STORAGE_KEY = "relata.graphiql.headers";
  var url = location.origin + location.pathname;

  function parseHeaders(text) {
    try {
      var parsed = JSON.parse(text || "{}");
      return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? parsed : {};
    } catch (e) {
      return {};
    }
  }

  function hasToken(text) {
    var headers = parseHeaders(text);
    return Object.keys(headers).some(function (name) {
      return name.toLowerCase() === "authorization" && /^Bearer\s+\S+/i.test(headers[name]);
    });
  }

  function withToken(text, token) {
    var headers = parseHeaders(text);
    Object.keys(headers).forEach(function (name) {
      if (name.toLowerCase() === "authorization") delete headers[name];
    });
    headers.Authorization = "Bearer " + token;
    return JSON.stringify(headers, null, 2);
  }

  function save(text) {
    try {
      localStorage.setItem(STORAGE_KEY, text);
    } catch (e) {
      /* storage disabled: the token lasts until the page is closed */
    }
  }

  var headers = null;
  try {
    headers = localStorage.getItem(STORAGE_KEY);
  } catch (e) {
    headers = null;
  }
  var fragment = new URLSearchParams(location.hash.slice(1));
  var token = (fragment.get("token") || "").trim();
  if (fragment.has("token")) {
    history.replaceState(null, "", location.pathname + location.search);
  }
  if (token) {
    headers = withToken(headers, token);
    save(headers);
  }

  // Subscriptions run over GraphQL over Server-Sent Events (the server's distinct-connections
  // mode): a POST that accepts text/event-stream, whose `next` events GraphiQL shows as they
  // come. Queries and mutations keep GraphiQL's own fetcher.
  // The operation's type, read from the text sent (GraphiQL's parsed document can lag behind the
  // editor): the top-level definitions, comments and strings aside; the named one, or the first.
  function operationOf(params) {
    var text = (params.query || "")
      .replace(/"""[\s\S]*?"""/g, '""')
      .replace(/"(?:[^"\\\n]|\\.)*"/g, '""')
      .replace(/#[^\n]*/g, "");
    var depth = 0;
    var found = [];
    var word = /[A-Za-z_][A-Za-z0-9_]*|[{}()]/g;
    var match;
    var pending = null;
    while ((match = word.exec(text))) {
      var token = match[0];
      if (token === "{" || token === "(") {
        if (depth === 0 && token === "{" && pending === null) found.push(["query", null]);
        if (token === "{") pending = null;
        depth += token === "{" ? 1 : 0;
      } else if (token === "}") {
        depth -= 1;
      } else if (depth === 0) {
        if (pending && pending[1] === null && !/^(query|mutation|subscription|fragment)$/.test(token)) {
          pending[1] = token;
        } else if (/^(query|mutation|subscription|fragment)$/.test(token)) {
          pending = [token, null];
          if (token !== "fragment") found.push(pending);
        }
      }
    }
    var chosen = found.filter(function (op) {
      return !params.operationName || op[1] === params.operationName;
    })[0];
    return chosen ? chosen[0] : "query";
  }

  function subscribe(params, opts) {
    var headers = Object.assign({}, (opts && opts.headers) || {}, {
      "Content-Type": "application/json",
      Accept: "text/event-stream",
    });
    var controller = new AbortController();
    var body = JSON.stringify({
      query: params.query,
      variables: params.variables,
      operationName: params.operationName,
    });
    var reader = null;
    var decoder = new TextDecoder();
    var buffer = "";
    var finished = false;
    var done = { value: undefined, done: true };

    function parse(message) {
      var event = "message";
      var data = [];
      message.split("\n").forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      return { event: event, data: data.join("\n") };
    }

    async function next() {
      if (finished) return done;
      if (reader === null) {
        var response = await fetch(url, {
          method: "POST",
          headers: headers,
          body: body,
          signal: controller.signal,
        });
        var type = response.headers.get("content-type") || "";
        if (!response.ok || type.indexOf("text/event-stream") !== 0) {
          finished = true;  // a refusal before the stream: one result, then the end
          return { value: await response.json(), done: false };
        }
        reader = response.body.getReader();
      }
      for (;;) {
        var cut = buffer.indexOf("\n\n");
        if (cut >= 0) {
          var message = parse(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (message.event === "complete") return stop();
          if (message.event === "next" && message.data) {
            return { value: JSON.parse(message.data), done: false };
          }
          continue;
        }
        var chunk = await reader.read();
        if (chunk.done) return stop();
        buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n/g, "\n");
      }
    }

    function stop() {
      finished = true;
      controller.abort();  // closes the stream: the server ends the subscription
      return done;
    }

    // An iterator, not a generator: GraphiQL's stop button calls return() while a read is
    // pending, and it must close the stream at once.
    var iterator = {
      next: function () {
        return next().catch(function (error) {
          if (finished) return done;
          throw error;
        });
      },
      return: function () {
        return Promise.resolve(stop());
      },
    };
    iterator[Symbol.asyncIterator] = function () {
      return iterator;
    };
    return iterator;
  }

  function withSubscriptions(httpFetcher) {
    return function (params, opts) {
      // GraphiQL's fetcher would take its parsed document (which can lag behind the text) for
      // a subscription it cannot run: it gets the text alone.
      return operationOf(params) === "subscription"
        ? subscribe(params, opts)
        : httpFetcher(params, Object.assign({}, opts, { documentAST: undefined }));
    };
  }

  function showGraphiQL() {
    document.getElementById("relata-hint").hidden = true;
    var element = document.getElementById("graphiql");
    element.hidden = false;
    var fetcher = withSubscriptions(GraphiQL.createFetcher({ url: url }));
    var plugins = [];
    if (window.GraphiQLPluginExplorer) plugins.push(GraphiQLPluginExplorer.explorerPlugin());
    ReactDOM.createRoot(element).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        plugins: plugins,
        headers: headers,
        defaultEditorToolsVisibility: "headers",
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        onEditHeaders: save,
        inputValueDeprecation: true,
        defaultQuery:
          "# Relata: labeled associations between CRM records.\n" +
          "# Run with Ctrl-Enter; the Docs button (top left) browses the schema.\n" +
          "{\n  viewer {\n    role\n    location {\n      id\n      name\n    }\n  }\n}\n",
      }),
    );
  }

  if (hasToken(headers)) {
    showGraphiQL();
  } else {
    document.getElementById("relata-hint").hidden = false;
    document.getElementById("relata-token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var pasted = document.getElementById("relata-token").value.trim().replace(/^Bearer\s+/i, "");
      if (!pasted) return;
      headers = withToken(headers, pasted);
      save(headers);
      showGraphiQL();
    });
  }
})();
