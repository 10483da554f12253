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

  function showGraphiQL() {
    document.getElementById("relata-hint").hidden = true;
    var element = document.getElementById("graphiql");
    element.hidden = false;
    var fetcher = GraphiQL.createFetcher({ url: url });
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
