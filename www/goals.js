// goalpost config for the whole Brewline site: the JSON that site owners copy. Every page
// includes this file before the goalpost loader; the same object can equally go into a
// <script type="application/json" id="goalpost-config"> element of each page. The site has two
// shops: /shop/ (a single-page app) and /store/ (separate pages); the goals cover both. A
// purchase counts once per order_id: a reloaded thank-you page is not a second order, in any
// consent mode.
window.goalpostConfig = {
  "collector": "/collect",
  "site": "demo",
  "consent": { "mode": "anonymous" },
  "goals": [
    { "id": "purchase", "label": "Purchase", "kind": "macro", "category": "sales", "on": "custom",
      "once": { "per": { "prop": "order_id" } },
      "value": { "prop": "total" }, "currency": { "prop": "currency" },
      "match": { "event": "purchase", "props": { "total": { "gt": 0 } } } },
    { "id": "booking", "label": "Tasting booked (lead)", "kind": "macro", "category": "leads", "on": "submit",
      "match": { "selector": "#booking" } },
    { "id": "add_to_cart", "label": "Add to cart", "on": "click", "once": "every",
      "value": { "attr": "data-price" }, "currency": "EUR",
      "match": { "selector": "[data-action=add-to-cart]" } },
    { "id": "checkout_started", "label": "Checkout started", "on": "pageview", "match": { "path": ["/shop/checkout", "/store/checkout.html"] } },
    { "id": "newsletter", "label": "Newsletter signup", "on": "submit", "match": { "selector": "#newsletter" } },
    { "id": "price_list", "label": "Price list downloaded", "on": "download", "match": { "href": { "contains": "price-list" } } },
    { "id": "demo_video", "label": "Watched the grinder video", "on": "media",
      "match": { "selector": "#grinder-video", "event": "progress", "percent": 75 } },
    { "id": "read_75", "label": "Read 75 % of an article", "on": "scroll", "match": { "percent": 75, "path": { "startsWith": "/blog/" } } },
    { "id": "engaged_30", "label": "Engaged 30 s", "on": "engaged", "match": { "seconds": 30 } },
    { "id": "contact_link", "label": "Phone, e-mail or WhatsApp", "on": "link", "match": { "type": ["tel", "mailto", "messenger"] } },
    { "id": "outbound", "label": "Left for a partner site", "on": "link", "match": { "type": "outbound" } },
    { "id": "checkout", "label": "Checkout funnel", "on": "funnel", "windowMs": 3600000,
      "steps": ["add_to_cart", "checkout_started", "purchase"] }
  ]
};
