// The shop section, routed in the page with history.pushState. goalpost sees each route as a
// page view (its `spa` option); the purchase is reported with goalpost('track', 'purchase', …).
import { cart } from '/site.js';

const products = [
  { slug: 'conical-grinder', name: 'Conical grinder', price: 149, emoji: '⚙️', text: 'Steel conical burrs, 40 settings, grinds 20 g in 15 seconds.' },
  { slug: 'gooseneck-kettle', name: 'Gooseneck kettle', price: 89, emoji: '🫖', text: 'Holds 92–96 °C to the degree; a slow, steady pour.' },
  { slug: 'brew-scale', name: 'Brew scale', price: 39, emoji: '⚖️', text: 'Reads to 0.1 g with a built-in timer.' },
  { slug: 'house-beans', name: 'House beans, 250 g', price: 14.9, emoji: '🫘', text: 'Washed Ethiopian, roasted for filter. Notes of apricot and black tea.' },
];
const euro = (n) => '€' + n.toFixed(2);
const view = document.getElementById('view');

function html(strings, ...values) {
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return strings.reduce((s, str, i) => s + str + (i < values.length ? esc(values[i]) : ''), '');
}

const routes = [
  [/^\/shop\/?$/, () => {
    document.title = 'Shop — Brewline';
    view.innerHTML = '<h1>The gear</h1><div class="grid">' + products.map((p) => html`
      <div class="card"><div class="emoji">${p.emoji}</div><h3><a href="/shop/p/${p.slug}" data-route>${p.name}</a></h3>
      <p class="price">${euro(p.price)}</p>
      <button data-action="add-to-cart" data-price="${p.price}" data-slug="${p.slug}">Add to cart</button></div>`).join('') + '</div>';
  }],
  [/^\/shop\/p\/([a-z-]+)$/, (slug) => {
    const p = products.find((x) => x.slug === slug);
    if (!p) return notFound();
    document.title = p.name + ' — Brewline';
    view.innerHTML = html`<p><a href="/shop/" data-route>← All gear</a></p>
      <div class="hero"><div><h1>${p.name}</h1><p>${p.text}</p><p class="price">${euro(p.price)}</p>
      <button class="primary" data-action="add-to-cart" data-price="${p.price}" data-slug="${p.slug}">Add to cart</button>
      <a class="button" href="/shop/cart" data-route>View cart</a></div><div class="emoji" style="font-size:120px;text-align:center">${p.emoji}</div></div>`;
  }],
  [/^\/shop\/cart$/, () => {
    document.title = 'Cart — Brewline';
    const items = cart.items();
    view.innerHTML = '<h1>Your cart</h1>' + (items.length
      ? '<table class="cart"><tr><th>Item</th><th>Price</th></tr>' + items.map((p) => html`<tr><td>${p.name}</td><td>${euro(p.price)}</td></tr>`).join('') +
        html`<tr><th>Total</th><th>${euro(cart.total())}</th></tr></table><p><a class="button primary" id="to-checkout" href="/shop/checkout" data-route>Checkout</a></p>`
      : '<p>Empty. <a href="/shop/" data-route>Find something good.</a></p>');
  }],
  [/^\/shop\/checkout$/, () => {
    document.title = 'Checkout — Brewline';
    view.innerHTML = html`<h1>Checkout</h1><p>Total: <b>${euro(cart.total())}</b></p>
      <form id="checkout" class="stack" data-total="${cart.total()}" data-currency="EUR">
        <label>Name <input name="name" required autocomplete="name"></label>
        <label>E-mail <input type="email" name="email" required autocomplete="email"></label>
        <label>Address <input name="address" required autocomplete="street-address"></label>
        <label>Card number <input name="card" required inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242"></label>
        <button class="primary" id="pay">Pay ${euro(cart.total())}</button>
      </form>`;
  }],
  [/^\/shop\/thanks$/, () => {
    document.title = 'Thank you — Brewline';
    view.innerHTML = '<h1>Thank you!</h1><p>Your order is on its way (not really: this is a demo).</p><p><a href="/blog/">Read the Journal while you wait</a></p>';
  }],
];

function notFound() {
  document.title = 'Not found — Brewline';
  view.innerHTML = '<h1>Not found</h1><p><a href="/shop/" data-route>Back to the shop</a></p>';
}

function render() {
  for (const [re, fn] of routes) {
    const m = re.exec(location.pathname);
    if (m) return fn(...m.slice(1));
  }
  notFound();
}

function go(path) {
  history.pushState(null, '', path);
  render();
  scrollTo(0, 0);
}

document.addEventListener('click', (e) => {
  const add = e.target.closest('[data-action=add-to-cart]');
  if (add) {
    const p = products.find((x) => x.slug === add.dataset.slug);
    cart.add({ slug: p.slug, name: p.name, price: p.price });
    add.textContent = 'Added ✓';
    return;
  }
  const link = e.target.closest('a[data-route]');
  if (link && !e.metaKey && !e.ctrlKey && !e.shiftKey && e.button === 0) {
    e.preventDefault();
    go(link.getAttribute('href'));
  }
});

document.addEventListener('submit', (e) => {
  if (e.target.id !== 'checkout') return;
  e.preventDefault(); // the demo charges nothing
  const total = cart.total();
  const order = 'BL-' + crypto.getRandomValues(new Uint32Array(1))[0].toString(36).toUpperCase();
  if (total > 0) window.goalpost('track', 'purchase', { order_id: order, total, currency: 'EUR', items: cart.items().length });
  cart.clear();
  go('/shop/thanks');
});

addEventListener('popstate', render);
render();
