// Opens Razorpay Checkout (or the simulated one in development) for an order
// the server already priced, then confirms through the verify API. No amounts
// are computed here: they all come from the server's checkout options.
(function () {
  "use strict";
  // Checkout page: one click, one order.
  var checkoutForm = document.querySelector("form.checkout");
  if (checkoutForm) {
    checkoutForm.addEventListener("submit", function () {
      var button = checkoutForm.querySelector("button.pay");
      if (button) button.disabled = true;
    });
    // Coming back with the browser's Back button restores the page as it was left.
    window.addEventListener("pageshow", function () {
      var button = checkoutForm.querySelector("button.pay");
      if (button) button.disabled = false;
    });
  }

  var root = document.querySelector("[data-checkout]");
  if (!root) return;
  var options = JSON.parse(document.getElementById("checkout-options").textContent);
  var payButton = root.querySelector("[data-pay]");
  var statusLine = root.querySelector("[data-status]");
  var POLL_MS = 2000;
  var POLL_LIMIT = 90; // three minutes; after that the webhook or reconciler finishes it

  function show(text, kind) {
    statusLine.textContent = text;
    statusLine.className = "status " + (kind || "");
  }

  function ready(text, kind) {
    payButton.disabled = false;
    show(text, kind);
  }

  function goToServer(serverId) {
    window.location.assign(root.dataset.serversUrl + serverId + "/");
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(body || {}),
    });
  }

  function poll(remaining) {
    fetch(root.dataset.orderUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .catch(function () { return null; })
      .then(function (order) {
        if (order && order.status === "paid" && order.server) return goToServer(order.server);
        if (remaining <= 0) {
          return show("Your payment is still being confirmed. We will email you when it is; " +
            "this page shows the result once it arrives. Please do not pay again.", "warning");
        }
        setTimeout(function () { poll(remaining - 1); }, POLL_MS);
      });
  }

  function verify(response) {
    payButton.disabled = true;
    show("Confirming your payment…");
    postJSON(root.dataset.verifyUrl, {
      razorpay_order_id: response.razorpay_order_id,
      razorpay_payment_id: response.razorpay_payment_id,
      razorpay_signature: response.razorpay_signature,
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (body) { return { code: r.status, body: body }; });
      })
      .then(function (res) {
        if (res.code === 200 && res.body.server) return goToServer(res.body.server.id);
        if (res.code === 202) {
          show((res.body.detail || "Confirming your payment…") + " Please keep this page open.", "warning");
          return poll(POLL_LIMIT);
        }
        ready((res.body.detail || "We could not confirm this payment.") + " You can try again.", "error");
      })
      .catch(function () {
        // The payment may have gone through; polling finds out without paying twice.
        show("We lost the connection while confirming your payment. Checking again…", "warning");
        poll(POLL_LIMIT);
      });
  }

  function openRazorpay() {
    if (typeof window.Razorpay !== "function") {
      return ready("Razorpay's checkout could not be loaded. Check your connection (or an ad blocker) and try again.", "error");
    }
    var rzp = new window.Razorpay(Object.assign({}, options, {
      handler: verify,
      modal: { ondismiss: function () { ready("Payment cancelled. You can pay whenever you are ready.", "warning"); } },
    }));
    rzp.on("payment.failed", function (resp) {
      var reason = resp && resp.error && resp.error.description;
      ready("The payment failed" + (reason ? ": " + reason : "") + ". You can try again.", "error");
    });
    rzp.open();
  }

  function openSimulated() {
    var dialog = document.getElementById("simulated-checkout");
    dialog.onclick = function (event) {
      var choice = event.target.getAttribute("data-simulate");
      if (!choice) return;
      dialog.close();
      if (choice === "dismiss") return ready("Payment cancelled. You can pay whenever you are ready.", "warning");
      if (choice === "fail") return ready("The payment failed (simulated). You can try again.", "error");
      postJSON(root.dataset.simulatedUrl)
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
        .then(verify)
        .catch(function () { ready("The simulated payment could not be made. Reload the page and try again.", "error"); });
    };
    dialog.oncancel = function () { ready("Payment cancelled. You can pay whenever you are ready.", "warning"); };
    dialog.showModal();
  }

  payButton.addEventListener("click", function () {
    payButton.disabled = true;
    show("");
    if (root.dataset.simulatedUrl) openSimulated(); else openRazorpay();
  });
  if (root.dataset.autopay) {
    // Straight from checkout: open the payment at once, but not again on reload.
    window.history.replaceState(null, "", window.location.pathname);
    payButton.click();
  }
})();
