// The multi-page store: the same shop as /shop/, built the classic way, one document per step
// (product list → cart → checkout → thank-you). Every page includes the site's goals and the
// goalpost loader; nothing carries goalpost state from page to page except what the visitor's
// consent allows goalpost to store. The cart is the site's own (sessionStorage, as /shop/'s).
import { cart } from '/site.js';

export const products = [
  { slug: 'conical-grinder', name: 'Conical grinder', price: 149, emoji: '⚙️' },
  { slug: 'gooseneck-kettle', name: 'Gooseneck kettle', price: 89, emoji: '🫖' },
  { slug: 'brew-scale', name: 'Brew scale', price: 39, emoji: '⚖️' },
  { slug: 'house-beans', name: 'House beans, 250 g', price: 14.9, emoji: '🫘' },
];
export const euro = (n) => '€' + n.toFixed(2);
export { cart };

// "Add to cart" on the product list (the button carries data-action, data-price: the goal's
// selector and value)
document.addEventListener('click', (e) => {
  const add = e.target.closest('[data-action=add-to-cart]');
  if (!add) return;
  const p = products.find((x) => x.slug === add.dataset.slug);
  cart.add({ slug: p.slug, name: p.name, price: p.price });
  add.textContent = 'Added ✓';
});
