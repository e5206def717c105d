// Brewline's own code, shared by every page: the consent banner and the cart count. It talks to
// goalpost only through the documented command queue, which works before the tracker loads.
window.goalpost = window.goalpost || function () { (window.goalpost.q = window.goalpost.q || []).push(arguments); };

const CHOICE = 'brewline_consent';
function banner() {
  const choice = localStorage.getItem(CHOICE);
  if (choice) {
    // the site remembers the visitor's choice and tells goalpost on every page
    window.goalpost('consent', choice);
    return;
  }
  const box = document.createElement('div');
  box.id = 'consent';
  box.innerHTML = '<p>We count visits and goals without cookies. May goalpost also keep a small queue and your visit in this browser, so that no conversion is lost and campaigns are credited across pages?</p>' +
    '<button type="button" class="primary" data-consent="granted">Accept</button><button type="button" data-consent="denied">Decline</button>';
  box.addEventListener('click', (e) => {
    const c = e.target.closest('[data-consent]');
    if (!c) return;
    localStorage.setItem(CHOICE, c.dataset.consent);
    window.goalpost('consent', c.dataset.consent);
    box.hidden = true;
  });
  document.body.append(box);
}

export const cart = {
  items() { try { return JSON.parse(sessionStorage.getItem('brewline_cart')) || []; } catch { return []; } },
  save(items) { sessionStorage.setItem('brewline_cart', JSON.stringify(items)); cart.badge(); },
  add(product) { cart.save([...cart.items(), product]); },
  clear() { cart.save([]); },
  total() { return Math.round(cart.items().reduce((s, p) => s + p.price, 0) * 100) / 100; },
  badge() { for (const b of document.querySelectorAll('[data-cart-count]')) b.textContent = cart.items().length; },
};

banner();
cart.badge();
