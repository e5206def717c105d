// The demo page's own code. It talks to goalpost only through the documented command queue,
// which works before and after the tracker has loaded.
window.goalpost = window.goalpost || function () { (window.goalpost.q = window.goalpost.q || []).push(arguments); };
const status = document.getElementById('status');
document.getElementById('signup').addEventListener('click', () => {
  status.textContent = 'Thanks! Your account is being created (a conversion was recorded).';
});
document.getElementById('trial').addEventListener('click', () => {
  window.goalpost('track', 'trial_started', { plan: 'pro' });
  status.textContent = 'Trial started (tracked with goalpost("track", …)).';
});
